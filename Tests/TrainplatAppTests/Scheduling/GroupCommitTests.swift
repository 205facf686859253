import Foundation
import Testing
@testable import TrainplatApp

/// `GroupCommit`: one write at a time; what is submitted meanwhile goes in the next write.
@Suite("Group commit")
struct GroupCommitTests {
    /// Records each write's entries; the first write waits until `release` is called, so a
    /// test can submit others while it is under way.
    final class Writes: @unchecked Sendable {
        private let lock = NSLock()
        private var batches: [[Int]] = []
        private var gate: CheckedContinuation<Void, Never>?
        private var holdFirst: Bool

        init(holdFirst: Bool) { self.holdFirst = holdFirst }

        var written: [[Int]] { lock.withLock { batches } }
        var isHolding: Bool { lock.withLock { gate != nil } }

        func write(_ entries: [Int]) async throws -> [Int] {
            let hold = lock.withLock {
                batches.append(entries)
                defer { holdFirst = false }
                return holdFirst
            }
            if hold { await withCheckedContinuation { continuation in lock.withLock { gate = continuation } } }
            if entries.contains(-1) { throw WriteFailed() }
            return entries.map { $0 * 10 }
        }

        func release() { lock.withLock { gate }?.resume() }
    }

    struct WriteFailed: Error {}

    private func outcome(_ body: () async throws -> Int) async -> Result<Int, any Error> {
        do { return .success(try await body()) } catch { return .failure(error) }
    }

    private func submitAll(_ entries: [Int], to commit: GroupCommit<Int, Int>, whileHeld writes: Writes) async throws -> [Int: Result<Int, any Error>] {
        try await withThrowingTaskGroup(of: (Int, Result<Int, any Error>).self) { group in
            group.addTask { (0, await outcome { try await commit.submit(0) }) }
            // The first write is under way (and held) before the others are submitted.
            while !writes.isHolding { try await Task.sleep(for: .milliseconds(1)) }
            for entry in entries { group.addTask { (entry, await outcome { try await commit.submit(entry) }) } }
            while commit.waitingCount < entries.count { try await Task.sleep(for: .milliseconds(1)) }
            writes.release()
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
    }

    @Test func test_submit_alone_writesAtOnce() async throws {
        // setup
        let writes = Writes(holdFirst: false)
        let commit = GroupCommit<Int, Int>(limit: 10, write: writes.write)
        // act
        let first = try await commit.submit(4)
        let second = try await commit.submit(5)
        // check: each on its own, in order, with its own outcome
        #expect((first, second) == (40, 50))
        #expect(writes.written == [[4], [5]])
    }

    @Test func test_submit_duringAWrite_waitsAndGoesInTheNextWrite_upToTheLimit() async throws {
        // setup: the first write is held while five more are submitted; three to a write
        let writes = Writes(holdFirst: true)
        let commit = GroupCommit<Int, Int>(limit: 3, write: writes.write)
        // act
        let outcomes = try await submitAll([1, 2, 3, 4, 5], to: commit, whileHeld: writes)
        // check: every entry got its own outcome; the waiting ones went three, then two, to a write
        #expect(try outcomes.mapValues { try $0.get() } == [0: 0, 1: 10, 2: 20, 3: 30, 4: 40, 5: 50])
        #expect(writes.written.map(\.count) == [1, 3, 2])
        #expect(Set(writes.written.dropFirst().flatMap { $0 }) == [1, 2, 3, 4, 5])
    }

    @Test func test_aFailedWrite_failsItsEntriesOnly() async throws {
        // setup: the batch after the held write holds the failing entry (-1); the limit puts
        // the last entries in a write of their own
        let writes = Writes(holdFirst: true)
        let commit = GroupCommit<Int, Int>(limit: 2, write: writes.write)
        // act
        let outcomes = try await submitAll([-1, 7, 8], to: commit, whileHeld: writes)
        // check: the failing entry's batch failed together, the other batches did not
        let batchOfFailure = try #require(writes.written.first { $0.contains(-1) })
        for (entry, outcome) in outcomes {
            if batchOfFailure.contains(entry) {
                #expect(throws: WriteFailed.self) { try outcome.get() }
            } else {
                #expect(try outcome.get() == entry * 10)
            }
        }
        #expect(writes.written.count == 3)
    }

    @Test func test_aWriteAnsweringTooFewOutcomes_isAnErrorForItsCallers() async throws {
        // setup
        let commit = GroupCommit<Int, Int>(limit: 4) { _ in [] }
        // act, check
        await #expect(throws: GroupCommitError.self) { try await commit.submit(1) }
        // and the next caller still writes (the turn was handed back)
        await #expect(throws: GroupCommitError.self) { try await commit.submit(2) }
    }
}
