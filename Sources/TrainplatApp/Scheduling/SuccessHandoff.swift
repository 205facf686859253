import Foundation

/// Succeeded tasks handed to the scheduler loop, which moves them in the statement that
/// claims the tasks they ready (`TaskTransitions.succeedAndClaim`): a chain's step is then
/// one statement, where it was the task's move and, after it, the next task's claim. Tasks
/// finishing while the loop is busy go in its next pass together.
///
/// The runner waits for its task's move as before (`submit` answers whether it won). Once
/// the loop has stopped (`close`), a runner still finishing moves its task itself.
final class SuccessHandoff: @unchecked Sendable {
    struct Handed: Sendable {
        let success: TaskTransitions.Success
        var taskID: UUID { success.taskID }
        fileprivate let continuation: CheckedContinuation<Bool?, Never>

        /// Tells the runner whether its task moved; nil: it moves its task itself (the loop's
        /// pass failed before the move was written, or the write failed).
        func answer(_ moved: Bool?) { continuation.resume(returning: moved) }
    }

    private let lock = NSLock()
    private var handed: [Handed] = []
    private var closed = false
    private let wakeup: Wakeup
    private let writeAlone: @Sendable (TaskTransitions.Success) async throws -> Bool

    init(wakeup: Wakeup, writeAlone: @escaping @Sendable (TaskTransitions.Success) async throws -> Bool) {
        self.wakeup = wakeup
        self.writeAlone = writeAlone
    }

    /// Hands the success to the loop and answers whether the task moved to succeeded.
    func submit(_ success: TaskTransitions.Success) async throws -> Bool {
        let moved: Bool? = await withCheckedContinuation { continuation in
            let queued = lock.withLock {
                guard !closed else { return false }
                handed.append(Handed(success: success, continuation: continuation))
                return true
            }
            if queued { wakeup.signal() } else { continuation.resume(returning: nil) }
        }
        if let moved { return moved }
        return try await writeAlone(success)
    }

    /// The successes handed since the last take, for the loop's pass.
    func take() -> [Handed] {
        lock.withLock {
            defer { handed = [] }
            return handed
        }
    }

    /// The loop has stopped: runners move their tasks themselves, those still waiting too.
    func close() {
        let waiting = lock.withLock {
            closed = true
            defer { handed = [] }
            return handed
        }
        for waiter in waiting { waiter.continuation.resume(returning: nil) }
    }
}
