import Foundation
import Testing
@testable import TrainplatApp

/// `SuccessHandoff`: the loop answers each handed success; a runner moves its task itself
/// when the loop could not write it, and once the loop has stopped.
@Suite("Success handoff")
struct SuccessHandoffTests {
    /// Counts the moves runners wrote themselves.
    final class AloneWrites: @unchecked Sendable {
        private let lock = NSLock()
        private var ids: [UUID] = []
        var written: [UUID] { lock.withLock { ids } }

        func write(_ success: TaskTransitions.Success) async throws -> Bool {
            lock.withLock { ids.append(success.taskID) }
            return true
        }
    }

    private func success() -> TaskTransitions.Success {
        TaskTransitions.Success(taskID: UUID(), outputs: [:], metrics: [:])
    }

    /// Submits `success` and waits until the loop's side holds it.
    private func handOver(_ success: TaskTransitions.Success, to handoff: SuccessHandoff) async throws -> (Task<Bool, any Error>, SuccessHandoff.Handed) {
        let submitted = Task { try await handoff.submit(success) }
        for _ in 0..<5_000 {
            if let handed = handoff.take().first { return (submitted, handed) }
            try await Task.sleep(for: .milliseconds(1))
        }
        Issue.record("the success never reached the loop's side")
        throw CancellationError()
    }

    @Test(arguments: [true, false])
    func test_submit_answeredByTheLoop_returnsItsAnswer(moved: Bool) async throws {
        // setup
        let alone = AloneWrites()
        let handoff = SuccessHandoff(wakeup: Wakeup(), writeAlone: alone.write)
        let (submitted, handed) = try await handOver(success(), to: handoff)
        // act
        handed.answer(moved)
        // check
        #expect(try await submitted.value == moved)
        #expect(alone.written.isEmpty)
    }

    @Test func test_submit_notWrittenByTheLoop_writesItself() async throws {
        // setup
        let alone = AloneWrites()
        let handoff = SuccessHandoff(wakeup: Wakeup(), writeAlone: alone.write)
        let mine = success()
        let (submitted, handed) = try await handOver(mine, to: handoff)
        // act: the loop's pass failed before its write
        handed.answer(nil)
        // check
        #expect(try await submitted.value)
        #expect(alone.written == [mine.taskID])
    }

    @Test func test_close_theWaitingAndLaterOnes_writeThemselves() async throws {
        // setup: one success waits in the handoff when the loop stops (queuing it signals)
        let alone = AloneWrites()
        let wakeup = Wakeup()
        let handoff = SuccessHandoff(wakeup: wakeup, writeAlone: alone.write)
        let waiting = success()
        let submitted = Task { try await handoff.submit(waiting) }
        await wakeup.wait(upTo: .seconds(60))
        #expect(alone.written.isEmpty)
        // act
        handoff.close()
        let later = success()
        let laterMoved = try await handoff.submit(later)
        // check
        #expect(try await submitted.value)
        #expect(laterMoved)
        #expect(Set(alone.written) == [waiting.taskID, later.taskID])
    }
}
