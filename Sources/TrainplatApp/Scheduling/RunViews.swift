import Foundation
import TrainplatCore

/// The scheduler's picture of its active runs' task states, kept between ticks so that one
/// step of a long run does not read and decode every task row of the run again (a
/// 1,000-task chain read 1,000 rows per step: the loop's largest cost in profiles).
///
/// The database stays the truth. A view is read whole when its run first appears, when
/// the database's count of the run's tasks per state differs from the view's (another
/// scheduler, a lost lease or an API call moved a task), and once it is `maxAge` old. In
/// between it follows the moves this scheduler made itself and the outcomes its attempts
/// reported. Every move stays a guarded update, so a stale view can cost a wasted update,
/// never a task started twice.
struct RunViews {
    struct View {
        var tasks: [String: SchedulerQueries.TaskRow]
        fileprivate let readAt: ContinuousClock.Instant

        var states: [String: TaskState] { tasks.compactMapValues(\.state) }

        fileprivate var counts: [String: Int] {
            tasks.values.reduce(into: [:]) { counts, task in counts[task.status, default: 0] += 1 }
        }
    }

    var maxAge: Duration = .seconds(5)
    private var views: [UUID: View] = [:]
    /// Each known task's run and name, so an attempt's outcome finds its place in a view.
    private var taskIndex: [UUID: (run: UUID, name: String)] = [:]

    /// Forgets the views of runs that are no longer active, are too old, or whose task counts
    /// per state (`counts`, from the database) differ from what the view holds.
    mutating func keep(runs: [UUID], agreeingWith counts: [UUID: [String: Int]]) {
        let now = ContinuousClock.now
        let active = Set(runs)
        for (runID, view) in views where !active.contains(runID) || now - view.readAt > maxAge || view.counts != counts[runID, default: [:]] {
            forget(runID)
        }
    }

    /// The run's view, read with `read` when there is none.
    mutating func view(of runID: UUID, read: () async throws -> [SchedulerQueries.TaskRow]) async throws -> View {
        if let view = views[runID] { return view }
        let rows = try await read()
        let view = View(tasks: Dictionary(rows.map { ($0.name, $0) }) { first, _ in first }, readAt: .now)
        views[runID] = view
        for row in rows { taskIndex[row.id] = (runID, row.name) }
        return view
    }

    /// Records that `taskID` is now in `state`; nil (not known) makes its run read again.
    mutating func record(_ taskID: UUID, movedTo state: TaskState?) {
        guard let (runID, name) = taskIndex[taskID] else { return }
        guard let state else { return forget(runID) }
        views[runID]?.tasks[name]?.status = state.rawValue
    }

    mutating func forget(_ runID: UUID) {
        guard let view = views.removeValue(forKey: runID) else { return }
        for task in view.tasks.values { taskIndex[task.id] = nil }
    }
}

/// What finished attempts report to the scheduler loop between its ticks: the state each
/// left its task in (nil: not known, read the run again).
final class AttemptOutcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var pending: [(taskID: UUID, state: TaskState?)] = []

    func report(_ taskID: UUID, state: TaskState?) {
        lock.withLock { pending.append((taskID, state)) }
    }

    func drain() -> [(taskID: UUID, state: TaskState?)] {
        lock.withLock {
            defer { pending = [] }
            return pending
        }
    }
}
