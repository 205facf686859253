import FluentKit
import Foundation
import Logging
import ServiceLifecycle
import TrainplatCore

/// The scheduler loop: advances active runs with `RunPlanner`'s decisions, claims ready
/// tasks up to the concurrency limit, and recovers tasks whose lease expired (their
/// process died with an earlier server). Safe to run in several processes at once: every
/// state change is a guarded update.
public struct Scheduler: Service {
    let database: any Database
    let config: AppConfig
    /// The loop's writes; through its own connection while it runs on a SQLite file (`run()`).
    var transitions: TaskTransitions
    let runner: TaskRunner
    let owner: String
    let logger: Logger
    let specs: SpecCache
    let queries: SchedulerQueries
    /// A finished attempt frees a slot; the loop looks again at once rather than at its tick.
    let wakeup: Wakeup
    var tickInterval: Duration = .milliseconds(200)
    /// How often a busy loop reads the active runs and their counts; the wake-ups for
    /// finished attempts in between go on from its views. Short enough that a run started
    /// meanwhile waits little, long enough that a busy loop reads them a few times per
    /// hundred attempts rather than for each.
    var activeReadInterval: Duration = .milliseconds(50)

    init(
        database: any Database, config: AppConfig, metrics: SchedulerMetrics, boundPort: BoundPort, auth: AuthService,
        sources: FeatureSourceResolver, mounts: LocalMounts, wakeup: Wakeup, logger: Logger
    ) {
        // The host is part of the owner: only a scheduler on the same host may signal the
        // process group a dead owner left behind.
        let owner = "scheduler@\(Self.hostName)/\(UUID().uuidString.prefix(8).lowercased())"
        let transitions = TaskTransitions(database: database, metrics: metrics)
        let specs = SpecCache()
        self.wakeup = wakeup
        self.specs = specs
        self.database = database
        self.queries = SchedulerQueries(database: database)
        self.config = config
        self.transitions = transitions
        self.owner = owner
        self.logger = logger
        self.runner = TaskRunner(
            database: database, config: config, transitions: transitions, executor: LocalExecutor(), owner: owner, boundPort: boundPort, auth: auth, sources: sources,
            mounts: mounts, specs: specs, successes: SuccessHandoff(wakeup: wakeup) { try await transitions.succeed([$0], owner: owner) == [true] }, logger: logger)
    }

    public func run() async throws {
        // The runners keep the pool: the loop's connection serves one caller at a time.
        let connection = try await LoopConnection.open(config.database, logger: logger)
        var loop = self
        if let connection { loop.transitions = transitions.writing(through: connection) }
        await loop.runLoop()
        await connection?.close()
    }

    private func runLoop() async {
        logger.info("scheduler started", metadata: ["owner": "\(owner)", "max_concurrent_tasks": "\(config.maxConcurrentTasks)"])
        let quotas = StorageQuotas(database: database, config: config)
        let cron = CronTrigger(database: database, specs: specs, quotas: quotas, logger: logger)
        let outcomes = AttemptOutcomes()
        var views = RunViews()
        var nextScheduleCheck = ContinuousClock.now
        var nextLeaseCheck = ContinuousClock.now
        // The active runs as the last tick left them, and when to read them again.
        var known: [SchedulerQueries.ActiveRun] = []
        var nextActiveRead = ContinuousClock.now
        await recordUnrecordedSuccesses()
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                // Taken first, so that a tick failing in any step still answers them (in the
                // catch: each runner then moves its own task).
                var handed = runner.successes.take()
                do {
                    // Leases last several heartbeats, so looking once a second is soon enough;
                    // a wake-up per finished attempt must not query for them each time.
                    if ContinuousClock.now >= nextLeaseCheck {
                        try await recoverExpiredLeases()
                        nextLeaseCheck = ContinuousClock.now + .seconds(1)
                    }
                    if ContinuousClock.now >= nextScheduleCheck {
                        try await cron.fireDueSchedules()
                        nextScheduleCheck = ContinuousClock.now + .seconds(5)
                    }
                    // A wake-up for a finished attempt goes on from the loop's own views,
                    // which that attempt's outcome updates, unless `activeReadInterval` has
                    // passed: that wake-up is the hot path of a chain or a wide run, and the
                    // read was a fifth of each step.
                    let reread = wakeup.takeRunsChanged() || ContinuousClock.now >= nextActiveRead
                    if reread { nextActiveRead = ContinuousClock.now + activeReadInterval }
                    let claims: [TaskTransitions.Claim]
                    // The handed successes' tasks that moved, once written; until then each
                    // runner would move its own (the pass failed before the write).
                    var moved: Set<UUID>?
                    do {
                        defer {
                            for success in handed { success.answer(moved.map { $0.contains(success.taskID) }) }
                            handed = []
                        }
                        let pass = try await advanceRuns(views: &views, outcomes: outcomes, known: reread ? nil : known, handed: handed)
                        known = pass.active
                        // A scheduler that is stopping starts nothing more: a task it claimed now
                        // would only be interrupted, and its retry budget raised once more.
                        let stopping = Task.isCancelled || Task.isShuttingDownGracefully
                        let picked = stopping ? [] : try await pickReadyTasks(active: pass.active, views: &views)
                        let written = try await moveAndClaim(handed.map(\.success), picked: picked, guards: pass.guards)
                        (moved, claims) = (written.succeeded, written.claimed)
                        try await storeReady(pass.readied, claimed: claims, guards: pass.guards, lost: handed.map(\.taskID).filter { !written.succeeded.contains($0) }, views: &views)
                    }
                    for claim in claims {
                        views.record(claim.taskID, movedTo: .running)
                        group.addTask {
                            outcomes.report(claim.taskID, state: await runner.run(claim))
                            wakeup.signal()
                        }
                    }
                    // After the claims, so that the next tasks run while the rows are written.
                    if runner.succeeded.isDue { try await writeSucceededAttempts() }
                } catch {
                    for success in handed { success.answer(nil) }
                    logger.error("scheduler tick failed", metadata: ["error": "\(error)"])
                    views = RunViews()
                    nextActiveRead = ContinuousClock.now
                }
                await wakeup.wait(upTo: tickInterval)
            }
            // Shutting down: running attempts are stopped and requeued (see AttemptEnd.interrupted);
            // one that succeeded meanwhile moves its task itself.
            runner.successes.close()
            group.cancelAll()
        }
        do {
            try await writeSucceededAttempts()
        } catch {
            logger.error("could not write the rows of succeeded attempts while stopping; the next start records them", metadata: ["error": "\(error)"])
        }
    }

    func writeSucceededAttempts() async throws {
        try await runner.succeeded.write(to: AttemptStore(database: database))
    }

    /// Writes the rows that a server which ended kept behind (see `SucceededAttempts`).
    private func recordUnrecordedSuccesses() async {
        do {
            let recorded = try await AttemptStore(database: database).recordUnrecordedSuccesses(runsDirectory: config.runsDirectory)
            if recorded > 0 { logger.warning("recorded the attempts of succeeded tasks that an ended server had not", metadata: ["attempts": "\(recorded)"]) }
        } catch {
            logger.error("could not record the attempts of succeeded tasks that an ended server had not", metadata: ["error": "\(error)"])
        }
    }

    /// One pass over the active runs, read fresh from the database, with every task it
    /// readied stored as ready.
    func advanceRuns() async throws {
        var views = RunViews()
        let pass = try await advanceRuns(views: &views)
        try await storeReady(pass.readied, claimed: [], guards: [:], lost: [], views: &views)
    }

    /// Moves pending tasks on (skipped, upstream_failed), retrying ones whose backoff passed
    /// back to ready, and finishes runs whose tasks are all done. Looks at the active runs
    /// in the database, or at `known` ones (an earlier tick's answer). Answers the runs still
    /// active, as far as this pass knows, and the pending tasks whose trigger rule is met:
    /// ready in `views` but not yet in the database, so that the tick's claim takes those it
    /// starts straight from pending and `storeReady` stores the rest. A chain's step is one
    /// statement shorter that way.
    ///
    /// `handed` successes are taken as succeeded, though their moves are written after this
    /// pass, with the claims (`moveAndClaim`). A task they ready is answered with them in
    /// `guards`, so that it is claimed or stored ready only if they moved. A run with such a
    /// success is not finished, nor are its other moves made, in this pass: the next one,
    /// which each success's report brings, makes them from stored states.
    @discardableResult
    func advanceRuns(
        views: inout RunViews, outcomes: AttemptOutcomes? = nil, known: [SchedulerQueries.ActiveRun]? = nil,
        handed: [SuccessHandoff.Handed] = []
    ) async throws -> (active: [SchedulerQueries.ActiveRun], readied: [UUID], guards: [UUID: [UUID]]) {
        var active = if let known { known } else { try await queries.activeRuns() }
        // Outcomes are taken after the counts are read: one reported before then committed
        // before then too, so the views and the counts disagree only over the few moments
        // between an attempt's update and its report.
        for outcome in outcomes?.drain() ?? [] { views.record(outcome.taskID, movedTo: outcome.state) }
        if known == nil { views.keep(active) }
        // After `keep`, which compares the views with the stored counts.
        for success in handed { views.record(success.taskID, movedTo: .succeeded) }
        let unstored = Set(handed.map(\.taskID))
        let runsWithUnstored = Set(unstored.compactMap(views.run(of:)))
        var ended: Set<UUID> = []
        var readied: [UUID] = []
        var guards: [UUID: [UUID]] = [:]
        for (index, run) in active.enumerated() {
            if run.status == RunState.queued.rawValue {
                try await transitions.moveRun(run.id, to: .running, from: [.queued])
                active[index].status = RunState.running.rawValue
            }
            let planner: RunPlanner
            do {
                planner = try await specs.planner(versionID: run.versionID, on: database)
            } catch let unreadable as SpecValidationError {
                // Its spec cannot change, so the run cannot go on; it must not hold up the rest.
                let reason = "its pipeline version's spec no longer parses: \(unreadable)"
                if try await RunService(database: database).stop(runID: run.id, as: .failed, reason: reason, taskReason: reason, transitions: transitions) {
                    logger.error("run failed: its spec cannot be read", metadata: ["run_id": "\(run.id)", "reason": "\(reason)"])
                }
                views.forget(run.id)
                ended.insert(run.id)
                continue
            }
            let view = try await views.plan(ofRun: run.id, with: planner) { try await queries.tasks(ofRun: run.id) }
            let decisions = view.decisions
            let readyNow = decisions.filter { $0.next == .ready }.compactMap { view.ids[$0.task] }
            for id in readyNow { views.record(id, movedTo: .ready) }
            readied += readyNow
            // The tasks of this run's unstored successes that each decision relied on.
            let deferred = runsWithUnstored.contains(run.id)
            func relied(_ task: String) -> [UUID] {
                deferred ? planner.dag.upstream(of: task).compactMap { view.ids[$0] }.filter(unstored.contains) : []
            }
            for decision in decisions where decision.next == .ready {
                if let id = view.ids[decision.task], case let upstream = relied(decision.task), !upstream.isEmpty { guards[id] = upstream }
            }
            // Planned again next pass, from stored states (see above); until then a move that
            // relied on an unstored success waits for it.
            if !deferred { views.planned(run.id) }
            // One statement per kind of move (and per `TaskTransitions.batchSize` tasks).
            var moves: [(next: TaskState, from: TaskState, ids: [UUID])] = [TaskState.skipped, .upstreamFailed].map { next in
                (next, .pending, decisions.filter { $0.next == next && relied($0.task).isEmpty }.compactMap { view.ids[$0.task] })
            }
            moves.append((.ready, .retrying, view.backoffOver.compactMap { view.ids[$0] }))
            var moved = !readyNow.isEmpty
            for move in moves where !move.ids.isEmpty {
                let reason = move.next == .upstreamFailed ? "an upstream task failed" : nil
                let won = try await transitions.move(move.ids, to: move.next, from: [move.from], reason: reason)
                for id in move.ids { views.record(id, movedTo: won.contains(id) ? move.next : nil) }
                moved = moved || !won.isEmpty
            }
            // States read this tick are final unless something moved; then the next tick looks.
            if !moved, !deferred, try await finishIfDone(runID: run.id, states: view.statesPresent) { ended.insert(run.id) }
        }
        return (active.filter { !ended.contains($0.id) }, readied, guards)
    }

    /// Stores as ready the tasks a pass readied (`advanceRuns`) that this tick did not claim,
    /// but none that relied on a success whose move was `lost`: their runs are read again.
    func storeReady(
        _ readied: [UUID], claimed: [TaskTransitions.Claim], guards: [UUID: [UUID]], lost: [UUID], views: inout RunViews
    ) async throws {
        for id in lost { views.record(id, movedTo: nil) }
        let started = Set(claimed.map(\.taskID))
        let rest = readied.filter { id in !started.contains(id) && !(guards[id] ?? []).contains(where: lost.contains) }
        guard !rest.isEmpty else { return }
        let won = try await transitions.move(rest, to: .ready, from: [.pending])
        // One that did not move was moved by someone else: its run is read again.
        for id in rest where !won.contains(id) { views.record(id, movedTo: nil) }
    }

    /// Whether the run's tasks are all done, in which case it is finished now (by this
    /// scheduler or another).
    private func finishIfDone(runID: UUID, states: [TaskState]) async throws -> Bool {
        guard let outcome = RunPlanner.outcome(states: states) else { return false }
        // A finished run's attempts are all recorded.
        if !runner.succeeded.isEmpty { try await writeSucceededAttempts() }
        let reason = outcome == .failed ? "one or more tasks failed" : nil
        if try await transitions.moveRun(runID, to: outcome, from: [.running], reason: reason) {
            logger.info("run finished", metadata: ["run_id": "\(runID)", "status": "\(outcome.rawValue)"])
        }
        return true
    }

    /// Moves the handed successes and claims the picked tasks (in one statement on SQLite, see
    /// `TaskTransitions.succeedAndClaim`), the claims in the order picked.
    func moveAndClaim(
        _ successes: [TaskTransitions.Success], picked: [UUID], guards: [UUID: [UUID]]
    ) async throws -> (succeeded: Set<UUID>, claimed: [TaskTransitions.Claim]) {
        guard !successes.isEmpty || !picked.isEmpty else { return ([], []) }
        let written = try await transitions.succeedAndClaim(successes, claims: picked, guards: guards, owner: owner, leaseSeconds: runner.leaseSeconds)
        let order = Dictionary(uniqueKeysWithValues: picked.enumerated().map { ($1, $0) })
        return (written.succeeded, written.claimed.sorted { order[$0.taskID, default: 0] < order[$1.taskID, default: 0] })
    }

    /// Picks ready tasks for the free slots, shared fairly between users (`FairShare`). The
    /// candidates are each run's oldest ready tasks, as many as there are free slots: no user
    /// or pipeline gets more than that in one tick, so a huge backlog is not looked at whole.
    func pickReadyTasks(active: [SchedulerQueries.ActiveRun], views: inout RunViews) async throws -> [UUID] {
        guard views.mayHaveReadyTasks(active) else { return [] }
        let occupants = views.occupants(of: active)
        let free = config.maxConcurrentTasks - occupants.count
        guard free > 0 else { return [] }
        var candidates: [FairShare.Candidate] = []
        for run in active {
            let oldest = views.oldestReady(ofRun: run.id, limit: free)
            guard !oldest.isEmpty else { continue }
            let pipelineLimit = try await specs.spec(versionID: run.versionID, on: database).concurrency
            candidates += oldest.map { task in
                FairShare.Candidate(
                    id: task.id.uuidString, user: run.user.uuidString, pipeline: run.pipeline.uuidString, pipelineLimit: pipelineLimit,
                    readySince: task.createdAt.timeIntervalSince1970)
            }
        }
        guard !candidates.isEmpty else { return [] }
        let picked = FairShare.pick(
            ready: candidates, running: occupants, served: views.started(byUserOf: active), globalLimit: config.maxConcurrentTasks,
            perUserLimit: config.maxTasksPerUser)
        return picked.compactMap(UUID.init(uuidString:))
    }

    /// A running task whose lease expired belongs to a scheduler that died: stop what is left
    /// of its process tree, fail the attempt, and run the task again. The lost attempt does
    /// not count against the retry policy: the task did not fail, its server did.
    func recoverExpiredLeases() async throws {
        // Our own leases are not lost while we live: the runner renews them, and a late
        // renewal on a loaded machine must not make this scheduler kill its own tasks.
        let expired = try await TaskRun.query(on: database).filter(\.$status == .running)
            .filter(\.$leaseExpiresAt < Date()).filter(\.$leaseOwner != owner).all()
        for task in expired {
            let taskID = try task.requireID()
            let attempt = try await TaskAttempt.query(on: database).filter(\.$task.$id == taskID)
                .sort(\.$number, .descending).first()
            if task.leaseOwner?.hasPrefix("scheduler@\(Self.hostName)/") == true {
                ProcessLauncher.signalTaskProcesses(of: taskID, SIGKILL)
            }
            let reason = "lost: no heartbeat from \(task.leaseOwner ?? "its scheduler") since the lease expired; the process died with its server"
            // A task that keeps taking its server down with it must not be retried forever.
            let lostBefore = try await TaskAttempt.query(on: database).filter(\.$task.$id == taskID)
                .filter(\.$reason ~~ "lost:").count()
            let moved = lostBefore + 1 >= Self.maxLostAttempts
                ? try await transitions.move(taskID, to: .failed, from: [.running], reason: "\(reason) (lost \(Self.maxLostAttempts) times)")
                : try await transitions.move(
                    taskID, to: .retrying, from: [.running], reason: reason, set: [.notBefore: Date(), .maxAttempts: task.maxAttempts + 1])
            guard moved else { continue }
            if let attempt, attempt.number == task.attemptCount {
                attempt.status = .failed
                attempt.reason = reason
                attempt.finishedAt = Date()
                try await attempt.update(on: database)
            } else {
                try await recordAttemptsNeverStarted(task, after: attempt?.number ?? 0)
            }
            logger.warning("recovered a lost task; it runs again", metadata: ["task": "\(task.name)"])
        }
        // The server that held these leases may also have ended with rows it kept behind.
        if !expired.isEmpty { await recordUnrecordedSuccesses() }
    }

    /// The claim counts an attempt before its row is stored, and a short attempt stores its
    /// row only as it ends; a server that died in between left the count ahead of the rows.
    /// Those attempts are recorded as lost, so a task's attempts stay numbered 1, 2, 3 and
    /// each number says what happened to it.
    private func recordAttemptsNeverStarted(_ task: TaskRun, after stored: Int) async throws {
        guard task.attemptCount > stored else { return }
        let store = AttemptStore(database: database)
        let prefix = AttemptStore.directoryPrefix(runsDirectory: config.runsDirectory, runID: task.$run.id, task: task.name)
        for number in (stored + 1)...task.attemptCount {
            let lost = AttemptStore.Attempt(number, of: try task.requireID(), directoryPrefix: prefix)
            try await store.close(lost, status: .failed, reason: "lost: the server died before this attempt's row was written (while starting it, or in its first moments); it runs again")
        }
    }

    static let hostName = ProcessInfo.processInfo.hostName
    static let maxLostAttempts = 3

}
