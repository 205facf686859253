import Metrics
import TrainplatCore

/// Task state counters for `/metrics`: one counter per state a task enters.
struct SchedulerMetrics: Sendable {
    private let transitions: [TaskState: Counter]

    init() {
        transitions = Dictionary(uniqueKeysWithValues: TaskState.allCases.map {
            ($0, Counter(label: "trainplat_task_transitions_total", dimensions: [("state", $0.rawValue)]))
        })
    }

    func recordTransition(to state: TaskState) {
        transitions[state]?.increment()
    }
}
