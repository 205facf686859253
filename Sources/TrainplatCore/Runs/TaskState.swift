/// The life of one task in one run. Every change is a guarded transition from the states
/// `allowedSources` lists, so two schedulers can never both move the same task.
public enum TaskState: String, Sendable, Codable, CaseIterable {
    case pending, ready, running, succeeded, failed, retrying, skipped, cancelled
    case upstreamFailed = "upstream_failed"

    public var isTerminal: Bool {
        switch self {
        case .succeeded, .failed, .skipped, .cancelled, .upstreamFailed: true
        case .pending, .ready, .running, .retrying: false
        }
    }

    /// The states a task may move into this state from.
    public var allowedSources: [TaskState] {
        switch self {
        // Only an explicit retry of a finished run moves a finished task back to pending.
        case .pending: [.failed, .upstreamFailed, .cancelled, .skipped]
        case .ready: [.pending, .retrying]
        // From pending: claimed in the tick that found its trigger rule met (`Scheduler`).
        case .running: [.ready, .pending]
        case .succeeded: [.running, .ready]  // from ready: satisfied from the cache
        case .failed, .retrying: [.running]
        case .skipped, .upstreamFailed: [.pending]
        case .cancelled: [.pending, .ready, .running, .retrying]
        }
    }

    public func canTransition(to next: TaskState) -> Bool {
        next.allowedSources.contains(self)
    }
}

public enum RunState: String, Sendable, Codable, CaseIterable {
    case queued, running, succeeded, failed, cancelled

    public var isTerminal: Bool {
        self == .succeeded || self == .failed || self == .cancelled
    }
}
