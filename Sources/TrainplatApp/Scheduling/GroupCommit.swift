import Foundation

/// Writes what callers submit while an earlier write is under way together, in one write.
/// A caller finding no write under way writes its own entry at once: a chain's step waits for
/// nothing more than it did alone. Entries submitted meanwhile wait; when the write is done,
/// the first of them writes its own with the others (up to `limit` a write), and so on. The
/// metadata database has one SQLite connection (see `MetadataDatabase`), so under load
/// statements queue for it anyway: a queue of writes becomes one statement and one commit.
final class GroupCommit<Entry: Sendable, Outcome: Sendable>: @unchecked Sendable {
    typealias Write = @Sendable ([Entry]) async throws -> [Outcome]

    /// What a waiting caller is resumed with.
    private enum Turn {
        /// Another caller wrote its entry.
        case written(Outcome)
        /// The write before is done: this caller writes next.
        case write
    }

    private typealias Waiter = (entry: Entry, continuation: CheckedContinuation<Turn, any Error>)

    private let write: Write
    private let limit: Int
    private let lock = NSLock()
    private var waiting: [Waiter] = []
    private var writing = false

    /// `write` answers one outcome per entry, in the entries' order.
    init(limit: Int, write: @escaping Write) {
        precondition(limit > 0, "a group commit writes at least one entry at a time")
        self.limit = limit
        self.write = write
    }

    /// Writes `entry` (with whatever else is waiting then) and answers its outcome.
    func submit(_ entry: Entry) async throws -> Outcome {
        // Nobody writing: write at once, without suspending for a turn (a chain's every step).
        if takeTurnIfIdle() { return try await writeWithWaiting(entry) }
        let turn: Turn = try await withCheckedThrowingContinuation { continuation in
            // Waits, or takes the turn if the write under way ended since the look above:
            // one decision under the lock, so no entry waits with nobody writing.
            let writesNow = lock.withLock {
                if writing {
                    waiting.append((entry, continuation))
                    return false
                }
                writing = true
                return true
            }
            if writesNow { continuation.resume(returning: .write) }
        }
        switch turn {
        case .written(let outcome): return outcome
        case .write: return try await writeWithWaiting(entry)
        }
    }

    /// Callers waiting for their turn or their outcome (for tests).
    var waitingCount: Int { lock.withLock { waiting.count } }

    private func takeTurnIfIdle() -> Bool {
        lock.withLock {
            if writing { return false }
            writing = true
            return true
        }
    }

    /// Writes `entry` and up to `limit - 1` waiting ones, then hands the writing on to the
    /// next waiting caller, if any: a writer does not stay behind to write for others, so its
    /// own caller (a task's slot) is not held up by a queue that keeps growing.
    private func writeWithWaiting(_ entry: Entry) async throws -> Outcome {
        let others = lock.withLock {
            let taken = Array(waiting.prefix(limit - 1))
            waiting.removeFirst(taken.count)
            return taken
        }
        let result: Result<[Outcome], any Error>
        do {
            let outcomes = try await write([entry] + others.map(\.entry))
            result = outcomes.count == others.count + 1
                ? .success(outcomes) : .failure(GroupCommitError(entries: others.count + 1, outcomes: outcomes.count))
        } catch {
            result = .failure(error)
        }
        let next: Waiter? = lock.withLock {
            if waiting.isEmpty {
                writing = false
                return nil
            }
            return waiting.removeFirst()
        }
        next?.continuation.resume(returning: .write)
        switch result {
        case .success(let outcomes):
            for (waiter, outcome) in zip(others, outcomes.dropFirst()) { waiter.continuation.resume(returning: .written(outcome)) }
            return outcomes[0]
        case .failure(let error):
            for waiter in others { waiter.continuation.resume(throwing: error) }
            throw error
        }
    }
}

/// A write answered a different number of outcomes than it was given entries: a programming
/// error in the write, reported to every caller of the batch rather than trapping.
struct GroupCommitError: Error, CustomStringConvertible {
    let entries: Int
    let outcomes: Int

    var description: String { "a group write of \(entries) entries answered \(outcomes) outcomes" }
}
