import Foundation

/// Succeeded attempts whose rows are not written yet. A succeeded attempt's task moves first,
/// which is what its downstream tasks and the free slot wait for; its row is written behind,
/// by the scheduler loop, many to a statement (`AttemptStore.closeSucceeded`). Writing each
/// row before its task's move was a statement on the critical path of every step of a chain,
/// and a fifth of the server's CPU in a fan-out.
///
/// What a reader sees meanwhile: the task succeeded, and its attempts list lacks that attempt
/// for a moment (at most `maxAge` and a tick of the loop); its log is served from its path
/// either way. The rows are written before the run is finished. A failed attempt's row is
/// still written before its task moves, since a retry reads it. A server that ends with rows
/// kept here loses them: `AttemptStore.recordUnrecordedSuccesses` writes them when a
/// scheduler starts or recovers a dead server's tasks.
final class SucceededAttempts: @unchecked Sendable {
    struct Closed: Sendable {
        let attempt: AttemptStore.Attempt
        let exitCode: Int32?
        let finishedAt: Date
    }

    /// Rows kept at most this long when the loop looks (`isDue`).
    static let maxAge: Duration = .milliseconds(100)
    /// Or as many as this: one statement writes them.
    static let maxKept = 200

    private let lock = NSLock()
    private var kept: [Closed] = []
    private var oldest: ContinuousClock.Instant?

    func keep(_ attempt: AttemptStore.Attempt, exitCode: Int32?) {
        let closed = Closed(attempt: attempt, exitCode: exitCode, finishedAt: Date())
        lock.withLock {
            kept.append(closed)
            oldest = oldest ?? .now
        }
    }

    /// Whether the rows kept should be written now.
    var isDue: Bool {
        lock.withLock { kept.count >= Self.maxKept || oldest.map { .now - $0 >= Self.maxAge } ?? false }
    }

    var isEmpty: Bool { lock.withLock { kept.isEmpty } }

    /// Writes every row kept. Rows that could not be written are kept for the next try.
    func write(to store: AttemptStore) async throws {
        let rows = lock.withLock {
            defer { (kept, oldest) = ([], nil) }
            return kept
        }
        guard !rows.isEmpty else { return }
        do {
            try await store.closeSucceeded(rows)
        } catch {
            lock.withLock {
                kept = rows + kept
                oldest = .now
            }
            throw error
        }
    }
}
