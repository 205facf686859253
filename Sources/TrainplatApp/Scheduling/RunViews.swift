import Foundation
import TrainplatCore

/// The scheduler's picture of its active runs' task states, kept between ticks so that one
/// step of a long run does not read and decode every task row of the run again (a
/// 1,000-task chain read 1,000 rows per step: the loop's largest cost in profiles).
///
/// The database stays the truth. A view is read whole when its run first appears, when
/// the database's count of the run's tasks per state differs from the view's at two ticks
/// in a row (another scheduler, a lost lease or an API call moved a task), and once it is
/// `maxAge` old. In between it follows the moves this scheduler made itself and the outcomes
/// its attempts reported. One tick's difference is often the loop's own: an attempt's
/// update commits a moment before its outcome reaches the loop. Every move stays a guarded
/// update, so a stale view can cost a wasted update or a slot left free for a tick, never a
/// task started twice.
struct RunViews {
    /// One run's tasks as the loop needs them, with the per-state counts kept as it
    /// changes, so a tick costs nothing per task beyond the planner's pass.
    struct View {
        private(set) var states: [String: TaskState] = [:]
        private(set) var ids: [String: UUID] = [:]
        /// Retrying tasks, with when each may run again (nil: at once).
        private(set) var retrying: [String: Date?] = [:]
        /// Tasks that reached a final state since the planner's last pass (`planned`), so the
        /// next pass looks only at the tasks that need them; nil for a view just read, which
        /// the planner passes over whole.
        fileprivate(set) var finishedSincePlanning: Set<String>?
        fileprivate private(set) var counts: [String: Int] = [:]
        fileprivate let readAt = ContinuousClock.now
        /// The tasks oldest first (as `SchedulerQueries.tasks(ofRun:)` reads them), each one's
        /// place in that order, and the first place that may hold a ready task: the oldest
        /// ready tasks are found without sorting, and a tick looks at few more than it starts.
        private var byAge: [(name: String, id: UUID, createdAt: Date)] = []
        private var age: [String: Int] = [:]
        private var firstMaybeReady = 0

        /// Each state some task is in, once: all `RunPlanner.outcome` needs.
        var statesPresent: [TaskState] { counts.keys.compactMap(TaskState.init(rawValue:)) }

        fileprivate init(rows: [SchedulerQueries.TaskRow]) {
            for row in rows where ids[row.name] == nil {
                ids[row.name] = row.id
                counts[row.status, default: 0] += 1
                age[row.name] = byAge.count
                byAge.append((row.name, row.id, row.createdAt ?? .distantPast))
                guard let state = row.state else { continue }
                states[row.name] = state
                if state == .retrying { retrying[row.name] = .some(row.notBefore) }
            }
        }

        /// Up to `limit` ready tasks, oldest first. The search stops once it has found every
        /// ready task the counts know of: a chain has one, and looking on through the rest of
        /// its thousand tasks for more was a thousand lookups per step.
        fileprivate mutating func oldestReady(_ limit: Int) -> [(id: UUID, createdAt: Date)] {
            func isReady(_ index: Int) -> Bool { states[byAge[index].name] == .ready }
            while firstMaybeReady < byAge.count && !isReady(firstMaybeReady) { firstMaybeReady += 1 }
            var found: [(id: UUID, createdAt: Date)] = []
            var index = firstMaybeReady
            let wanted = min(limit, counts[TaskState.ready.rawValue, default: 0])
            while found.count < wanted && index < byAge.count {
                if isReady(index) { found.append((byAge[index].id, byAge[index].createdAt)) }
                index += 1
            }
            return found
        }

        fileprivate mutating func set(_ name: String, to state: TaskState) {
            if let old = states[name] {
                counts[old.rawValue, default: 0] -= 1
                // The database's counts list only states some task is in.
                if counts[old.rawValue] == 0 { counts[old.rawValue] = nil }
            }
            counts[state.rawValue, default: 0] += 1
            states[name] = state
            retrying[name] = nil
            if state.isTerminal { finishedSincePlanning?.insert(name) }
            if state == .ready, let index = age[name] { firstMaybeReady = min(firstMaybeReady, index) }
        }
    }

    var maxAge: Duration = .seconds(5)
    private var views: [UUID: View] = [:]
    /// Each known task's run and name, so an attempt's outcome finds its place in a view.
    private var taskIndex: [UUID: (run: UUID, name: String)] = [:]
    /// Runs whose view differed from the database's counts at the last `keep`.
    private var differing: Set<UUID> = []

    /// Forgets the views of runs that are no longer active, are too old, or whose task counts
    /// per state differ from the database's (`ActiveRun.taskCounts`) for the second time in
    /// a row.
    mutating func keep(_ active: [SchedulerQueries.ActiveRun]) {
        let now = ContinuousClock.now
        let counts = Dictionary(active.map { ($0.id, $0.taskCounts) }) { first, _ in first }
        var stillDiffering: Set<UUID> = []
        for (runID, view) in views {
            if now - view.readAt > maxAge || counts[runID] == nil {
                forget(runID)
            } else if counts[runID] != view.counts {
                if differing.contains(runID) { forget(runID) } else { stillDiffering.insert(runID) }
            }
        }
        differing = stillDiffering
    }

    /// Up to `limit` ready tasks of the run, oldest first; none when the run has no view.
    mutating func oldestReady(ofRun runID: UUID, limit: Int) -> [(id: UUID, createdAt: Date)] {
        views[runID]?.oldestReady(limit) ?? []
    }

    /// Whether any of the runs may have a ready task (else a tick has nothing to claim); a
    /// run without a view (forgotten this tick) may.
    func mayHaveReadyTasks(_ active: [SchedulerQueries.ActiveRun]) -> Bool {
        active.contains { run in views[run.id].map { $0.counts[TaskState.ready.rawValue, default: 0] > 0 } ?? true }
    }

    /// The running tasks, one occupant each: a task is `running` in the database for as long
    /// as its process lives, and every active run's view agrees with the database's counts,
    /// so this covers every scheduler sharing the database.
    func occupants(of active: [SchedulerQueries.ActiveRun]) -> [FairShare.Occupant] {
        active.flatMap { run in
            let running = (views[run.id]?.counts ?? run.taskCounts)[TaskState.running.rawValue, default: 0]
            return Array(repeating: FairShare.Occupant(user: run.user.uuidString, pipeline: run.pipeline.uuidString), count: running)
        }
    }

    /// Per user: tasks of their active runs that have started (what `FairShare` balances).
    func started(byUserOf active: [SchedulerQueries.ActiveRun]) -> [String: Int] {
        let startedStates = [TaskState.running, .succeeded, .failed, .retrying].map(\.rawValue)
        return active.reduce(into: [:]) { started, run in
            let counts = views[run.id]?.counts ?? run.taskCounts
            started[run.user.uuidString, default: 0] += startedStates.reduce(0) { $0 + counts[$1, default: 0] }
        }
    }

    /// The run's view, read with `read` when there is none.
    mutating func view(of runID: UUID, read: () async throws -> [SchedulerQueries.TaskRow]) async throws -> View {
        if let view = views[runID] { return view }
        let rows = try await read()
        let view = View(rows: rows)
        views[runID] = view
        for (name, id) in view.ids { taskIndex[id] = (runID, name) }
        return view
    }

    /// What the planner decided for a run from its view, and what the loop needs of the view
    /// to apply it, taken out so that no copy of the view outlives the planner's pass: the
    /// moves the loop records next then change the view in place. A copy held across them
    /// made every step copy the run's task states (a cost that grew with the run's length:
    /// 4% of the server's samples in a 4,000-task chain).
    struct Plan {
        let decisions: [(task: String, next: TaskState)]
        let ids: [String: UUID]
        /// Retrying tasks whose time to run again has come.
        let backoffOver: [String]
        let statesPresent: [TaskState]
    }

    /// The run's plan (see `Plan`), its view read with `read` when there is none.
    mutating func plan(ofRun runID: UUID, with planner: RunPlanner, read: () async throws -> [SchedulerQueries.TaskRow]) async throws -> Plan {
        let view = try await view(of: runID, read: read)
        return Plan(
            decisions: planner.decisions(states: view.states, after: view.finishedSincePlanning), ids: view.ids,
            backoffOver: view.retrying.filter { ($0.value ?? .distantPast) <= Date() }.keys.sorted(), statesPresent: view.statesPresent)
    }

    /// The planner has passed over the run's view; the moves recorded from now on are the
    /// next pass's to look at.
    mutating func planned(_ runID: UUID) {
        views[runID]?.finishedSincePlanning = []
    }

    /// Records that `taskID` is now in `state`; nil (not known) makes its run read again.
    mutating func record(_ taskID: UUID, movedTo state: TaskState?) {
        guard let (runID, name) = taskIndex[taskID] else { return }
        guard let state else { return forget(runID) }
        views[runID]?.set(name, to: state)
    }

    /// The run of a task some view holds.
    func run(of taskID: UUID) -> UUID? {
        taskIndex[taskID]?.run
    }

    mutating func forget(_ runID: UUID) {
        guard let view = views.removeValue(forKey: runID) else { return }
        for id in view.ids.values { taskIndex[id] = nil }
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
