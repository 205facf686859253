/// Pure scheduling decisions for one run: which pending tasks become ready, skipped or
/// upstream-failed, and when the run as a whole is over. The scheduler applies them as
/// guarded updates; this type never touches the database.
public struct RunPlanner: Sendable {
    public let dag: DAG
    public let rules: [String: TriggerRule]

    public init(spec: PipelineSpec) {
        dag = DAG(spec)
        rules = Dictionary(uniqueKeysWithValues: spec.tasks.map { ($0.name, $0.when) })
    }

    /// New states for pending tasks whose upstream tasks have all finished.
    public func decisions(states: [String: TaskState]) -> [(task: String, next: TaskState)] {
        dag.tasks.enumerated().compactMap { position, task in
            guard states[task] == .pending else { return nil }
            let needs = dag.upstream(at: position)
            // Stops at the first unfinished upstream task: on every tick, a wide layered run
            // has thousands of pending tasks, each needing a hundred that have not finished.
            guard needs.allSatisfy({ states[$0]?.isTerminal ?? true }) else { return nil }
            return (task, decide(rule: rules[task] ?? .allSuccess, upstream: needs.compactMap { states[$0] }))
        }
    }

    private func decide(rule: TriggerRule, upstream: [TaskState]) -> TaskState {
        let anyFailed = upstream.contains { $0 == .failed || $0 == .upstreamFailed }
        switch rule {
        case .allDone:
            return .ready
        case .oneFailed:
            return anyFailed ? .ready : .skipped
        case .allSuccess:
            if anyFailed { return .upstreamFailed }
            if upstream.contains(where: { $0 == .skipped || $0 == .cancelled }) { return .skipped }
            return .ready
        }
    }

    /// The run's final state once every task is terminal; nil while work remains.
    public static func outcome(states: some Collection<TaskState>) -> RunState? {
        guard states.allSatisfy(\.isTerminal) else { return nil }
        if states.contains(where: { $0 == .failed || $0 == .upstreamFailed }) { return .failed }
        if states.contains(.cancelled) { return .cancelled }
        return .succeeded
    }
}
