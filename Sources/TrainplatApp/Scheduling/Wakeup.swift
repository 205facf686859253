import Foundation

/// Lets a finished attempt wake the scheduler loop at once instead of at its next tick, so a
/// wide run's next task starts as soon as a slot frees. Signals while nobody waits are kept
/// (one is enough: the loop then looks at everything).
final class Wakeup: @unchecked Sendable {
    private let lock = NSLock()
    private var pending = false
    private var runsChanged = false
    private var waiter: CheckedContinuation<Void, Never>?

    /// A run was started or retried in this server: the loop wakes and reads the active runs
    /// again rather than going on from those it knew (see `Scheduler.activeReadInterval`), so
    /// the run does not wait for the next tick.
    func signalRunsChanged() {
        lock.withLock { runsChanged = true }
        signal()
    }

    /// Whether runs changed since the last call.
    func takeRunsChanged() -> Bool {
        lock.withLock {
            defer { runsChanged = false }
            return runsChanged
        }
    }

    func signal() {
        let resumed: CheckedContinuation<Void, Never>? = lock.withLock {
            guard let waiter else {
                pending = true
                return nil
            }
            self.waiter = nil
            return waiter
        }
        resumed?.resume()
    }

    /// Returns after `timeout`, at a signal, or at cancellation, whichever comes first.
    func wait(upTo timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.nextSignal() }
            await group.next()
            group.cancelAll()
        }
    }

    private func nextSignal() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready: Bool = lock.withLock {
                    if pending || Task.isCancelled {
                        pending = false
                        return true
                    }
                    waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let cancelled: CheckedContinuation<Void, Never>? = lock.withLock {
                defer { waiter = nil }
                return waiter
            }
            cancelled?.resume()
        }
    }
}
