/// Pure scheduling decisions for one run: which pending tasks become ready, skipped or
/// upstream-failed, and when the run as a whole is over. The scheduler applies them as
/// guarded updates; this type never touches the database.
public struct RunPlanner: Sendable {
    public let dag: DAG
    public let rules: [String: TriggerRule]

    public init(spec: PipelineSpec) {
        self.init(spec: spec, dag: DAG(spec))
    }

    /// `dag` must be `DAG(spec)`.
    init(spec: PipelineSpec, dag: DAG) {
        self.dag = dag
        rules = Dictionary(uniqueKeysWithValues: spec.tasks.map { ($0.name, $0.when) })
    }

    /// New states for pending tasks whose upstream tasks have all finished. With `finished`
    /// (the tasks that reached a final state since the last pass whose decisions were
    /// applied), only the tasks that need one of them are looked at: any other pending task
    /// was decided then or still waits. A pass over every task of a 3,000-task chain on every
    /// step was 8% of the scheduler's CPU. Without it every task is looked at.
    public func decisions(states: [String: TaskState], after finished: Set<String>? = nil) -> [(task: String, next: TaskState)] {
        let candidates = finished.map(dag.positionsNeeding) ?? Array(dag.tasks.indices)
        return candidates.compactMap { position in
            let task = dag.tasks[position]
            guard states[task] == .pending else { return nil }
            let needs = dag.upstream(at: position)
            // Stops at the first unfinished upstream task: on every tick, a wide layered run
            // has thousands of pending tasks, each needing a hundred that have not finished.
            guard needs.allSatisfy({ states[$0]?.isTerminal ?? true }) else { return nil }
            return (task, decide(rule: rules[task] ?? .allSuccess, upstream: needs.compactMap { states[$0] }))
        }
    }

    /// The first pass over a new run, whose tasks are all pending: `decisions(states:)` with
    /// every task pending, read off the graph (the tasks that need none) without a state per
    /// task, which for 10,000 tasks cost more than the rest of planning.
    public func startingDecisions() -> [(task: String, next: TaskState)] {
        dag.tasks.indices.compactMap { position in
            guard dag.upstream(at: position).isEmpty else { return nil }
            let task = dag.tasks[position]
            return (task, decide(rule: rules[task] ?? .allSuccess, upstream: []))
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
