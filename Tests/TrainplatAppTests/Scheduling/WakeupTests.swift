import Foundation
import Testing
@testable import TrainplatApp

/// The bounds on how soon a wait ends are generous: the suites run in parallel on two cores,
/// and CPU-heavy tests beside these can hold every thread of the pool for seconds.
@Suite("The scheduler loop's wake-ups")
struct WakeupTests {
    private static let soon: Duration = .seconds(60)

    @Test func test_signalWhileNobodyWaits_isKept_forTheNextWaitOnly() async throws {
        // setup
        let wakeup = Wakeup()
        wakeup.signal()
        wakeup.signal()
        // act: the first wait takes the kept signal; the second has none and waits
        let first = Task { await wakeup.wait(upTo: .seconds(60)) }
        let firstTookKeptSignal = await Self.finishes(first, within: Self.soon)
        let second = Task { await wakeup.wait(upTo: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(50))
        // check: still waiting until a signal comes
        let endedWithoutSignal = await Self.finishes(second, within: .milliseconds(20))
        wakeup.signal()
        let finishedAfterSignal = await Self.finishes(second, within: Self.soon)
        #expect(firstTookKeptSignal)
        #expect(!endedWithoutSignal)
        #expect(finishedAfterSignal)
    }

    @Test func test_waitWithoutSignal_endsAtItsTimeout() async throws {
        // setup
        let wakeup = Wakeup()
        // act / check: the loop's tick, for what no attempt signals
        let waiter = Task { await wakeup.wait(upTo: .milliseconds(10)) }
        #expect(await Self.finishes(waiter, within: Self.soon))
    }

    @Test func test_cancellingAWaiter_endsItsWait() async throws {
        // setup
        let wakeup = Wakeup()
        let waiter = Task { await wakeup.wait(upTo: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(20))
        // act
        waiter.cancel()
        // check
        #expect(await Self.finishes(waiter, within: Self.soon))
    }

    /// Whether `task` finished within `limit`, without cancelling it.
    private static func finishes(_ task: Task<Void, Never>, within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        let done = Done()
        Task { await task.value; done.set() }
        while ContinuousClock.now < deadline {
            if done.value { return true }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return done.value
    }

    private final class Done: @unchecked Sendable {
        private let lock = NSLock()
        private var flag = false
        var value: Bool { lock.withLock { flag } }
        func set() { lock.withLock { flag = true } }
    }
}
