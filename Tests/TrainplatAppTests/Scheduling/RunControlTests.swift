import FluentKit
import Foundation
import Testing
@testable import TrainplatApp
import TrainplatCore

@Suite("Cancel, retry and fair sharing of runs")
struct RunControlTests {
    private func start(_ spec: String, app: TestApp) async throws -> PipelineRun {
        let owner = try await app.user()
        let project = try await app.project(members: [(owner, .member)])
        let version = try await PipelineService(database: app.database)
            .register(specText: spec, projectID: try project.requireID(), userID: try owner.requireID()).version
        return try await RunService(database: app.database).start(versionID: try version.requireID(), params: [:], userID: try owner.requireID())
    }

    private func status(_ run: PipelineRun, _ app: TestApp) async throws -> RunState? {
        try await PipelineRun.find(run.requireID(), on: app.database)?.status
    }

    @Test func test_start_createsEveryTaskPending_inTheStoredSpecsOrder_acrossInsertSlices() async throws {
        try await TestApp.with { app in
            // setup: more tasks than one insert statement takes, written against name order
            let count = RunService.rowsPerInsert + 7
            let names = (0..<count).map { "t\(String(format: "%04d", count - $0))" }
            let spec = "name: many\ntasks:\n" + names.map { "  \($0): {command: [echo]}\n" }.joined()
            // act
            let run = try await start(spec, app: app)
            // check: a run starts from the stored version, whose canonical form sorts tasks by name
            let tasks = try await TaskRunDTO.all(ofRun: run.requireID(), on: app.database)
            #expect(tasks.map(\.name) == names.sorted())
            #expect(tasks.allSatisfy { $0.status == .pending && $0.attempts == 0 && $0.maxAttempts == 1 && $0.progress == 0 })
            // and their times, read back rounded to the microsecond, still tell them apart
            let times = try await app.tasks(of: run).values.sorted { $0.name < $1.name }.map { $0.createdAt ?? .distantPast }
            #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 })
        }
    }

    @Test func test_cancel_runningRun_stopsItsProcessAndCancelsEverything() async throws {
        try await TestApp.with { app in
            // setup
            let run = try await start("name: long\ntasks:\n  wait: {command: [sleep, '60']}\n  after: {needs: [wait], command: [echo]}\n", app: app)
            let transitions = TaskTransitions(database: app.database, metrics: SchedulerMetrics())
            let database = app.database
            // act: cancel once the process runs
            try await app.drive(until: {
                let attempt = try await TaskAttempt.query(on: database).first()
                if attempt?.pid != nil, attempt?.status == .running {
                    _ = try await RunService(database: database).cancel(runID: run.requireID(), transitions: transitions)
                }
                return try await TaskAttempt.query(on: database).first()?.status == .failed
            }, timeout: .seconds(30))
            // check
            let tasks = try await app.tasks(of: run)
            #expect(try await status(run, app) == .cancelled)
            #expect(tasks.values.map(\.status) == [.cancelled, .cancelled])
            let attempt = try #require(try await TaskAttempt.query(on: app.database).first())
            #expect(attempt.reason == "stopped: the run was cancelled")
            #expect(!ProcessLauncher.isAlive(Int32(attempt.pid ?? 0)))
        }
    }

    @Test func test_retry_failedRun_rerunsOnlyWhatDidNotSucceed() async throws {
        try await TestApp.with { app in
            // setup: `flaky` fails until the marker exists; `first` always succeeds
            let marker = app.directory + "/fixed"
            let spec = """
                name: retry
                tasks:
                  first: {command: [sh, -c, "echo '{}' > outputs.json"]}
                  flaky: {needs: [first], command: [sh, -c, "test -f \(marker) && echo '{}' > outputs.json"]}
                """
            let run = try await app.run(spec: spec)
            #expect(run.status == .failed)
            _ = FileManager.default.createFile(atPath: marker, contents: nil)
            let transitions = TaskTransitions(database: app.database, metrics: SchedulerMetrics())
            // act
            let retried = try await RunService(database: app.database).retry(runID: run.requireID(), transitions: transitions)
            let database = app.database
            try await app.drive(until: { try await PipelineRun.find(run.requireID(), on: database)?.status.isTerminal == true }, timeout: .seconds(30))
            // check
            let tasks = try await app.tasks(of: run)
            #expect(retried)
            #expect(try await status(run, app) == .succeeded)
            #expect(tasks["first"]?.attemptCount == 1)
            #expect(tasks["flaky"]?.attemptCount == 2)
            #expect(try await RunService(database: app.database).retry(runID: run.requireID(), transitions: transitions) == false)
        }
    }

    @Test func test_claims_takeTheOldestReadyTasks_andAnotherUsersTaskBehindALongerBacklog() async throws {
        try await TestApp.with(configure: { $0.maxConcurrentTasks = 4 }) { app in
            // setup: 12 ready tasks of one user's run, then one of another user's. A run's
            // tasks are created in its canonical spec's order, by name; zero-padded names
            // make that t00, t01, t02, …
            let wide = (0..<12).map { "  t\($0 < 10 ? "0" : "")\($0): {command: [\"true\"]}" }.joined(separator: "\n")
            let big = try await start("name: big\ntasks:\n\(wide)\n", app: app)
            let small = try await start("name: small\ntasks:\n  only: {command: [\"true\"]}\n", app: app)
            let scheduler = app.app.makeScheduler()
            var views = RunViews()
            let pass = try await scheduler.advanceRuns(views: &views)
            // act
            let picked = try await scheduler.pickReadyTasks(active: pass.active, views: &views)
            let claims = try await scheduler.moveAndClaim([], picked: picked, guards: [:]).claimed
            // check: the users take turns, each from its oldest task on
            let bigTasks = try await app.tasks(of: big)
            let smallTask = try #require(try await app.tasks(of: small)["only"]?.id)
            #expect(claims.map(\.name) == ["t00", "only", "t01", "t02"])
            #expect(claims.map(\.taskID) == [bigTasks["t00"]?.id, smallTask, bigTasks["t01"]?.id, bigTasks["t02"]?.id].compactMap { $0 })
            #expect(claims.allSatisfy { $0.attempt == 1 })
        }
    }

    /// A scheduler whose views hold `running` (its tasks, running) and the success of
    /// `succeeding` handed to its loop, that task cancelled since (its run was cancelled as
    /// its process exited 0): the start of a tick whose move will lose. Also answers the
    /// runner's wait for that move.
    private func handedSuccessThatWillLose(
        of succeeding: UUID, running: [UUID], app: TestApp
    ) async throws -> (scheduler: Scheduler, views: RunViews, handed: [SuccessHandoff.Handed], move: Task<Bool, any Error>) {
        for id in running { try await TaskRun.query(on: app.database).filter(\.$id == id).set(\.$status, to: .running).update() }
        let scheduler = app.app.makeScheduler()
        var views = RunViews()
        try await scheduler.advanceRuns(views: &views)
        let move = Task { try await scheduler.runner.successes.submit(TaskTransitions.Success(taskID: succeeding, outputs: [:], metrics: [:])) }
        await scheduler.wakeup.wait(upTo: .seconds(60))
        try await TaskRun.query(on: app.database).filter(\.$id == succeeding).set(\.$status, to: .cancelled).update()
        return (scheduler, views, scheduler.runner.successes.take(), move)
    }

    @Test func test_aHandedSuccessWhoseMoveLost_readiesNothing_andItsRunIsReadAgain() async throws {
        try await TestApp.with(configure: { $0.maxConcurrentTasks = 1 }) { app in
            // setup: `up` runs under this scheduler and another run's task holds the only
            // slot, so what `up` readies would be stored ready, not claimed
            let run = try await start("name: step\ntasks:\n  up: {command: [\"true\"]}\n  down: {command: [\"true\"], needs: [up]}\n", app: app)
            let other = try await start("name: other\ntasks:\n  busy: {command: [\"true\"]}\n", app: app)
            let tasks = try await app.tasks(of: run)
            let up = try #require(tasks["up"]).requireID()
            let down = try #require(tasks["down"]).requireID()
            let busy = try #require(try await app.tasks(of: other)["busy"]).requireID()
            let (scheduler, setupViews, handed, move) = try await handedSuccessThatWillLose(of: up, running: [up, busy], app: app)
            var views = setupViews
            // act: the loop's tick
            let pass = try await scheduler.advanceRuns(views: &views, handed: handed)
            let picked = try await scheduler.pickReadyTasks(active: pass.active, views: &views)
            let written = try await scheduler.moveAndClaim(handed.map(\.success), picked: picked, guards: pass.guards)
            let lost = handed.map(\.taskID).filter { !written.succeeded.contains($0) }
            try await scheduler.storeReady(pass.readied, claimed: written.claimed, guards: pass.guards, lost: lost, views: &views)
            for success in handed { success.answer(written.succeeded.contains(success.taskID)) }
            // check: down was readied in the view on up's success, but neither claimed nor
            // stored ready; the runner learns that its task did not move; the run's view is gone
            #expect(pass.guards[down] == [up])
            #expect(picked.isEmpty)
            #expect(lost == [up])
            #expect(try await move.value == false)
            #expect(try await TaskRun.find(down, on: app.database)?.status == .pending)
            #expect(views.run(of: down) == nil)
        }
    }

    @Test func test_aRunWithAHandedSuccess_isNotFinishedBeforeTheMoveIsStored() async throws {
        try await TestApp.with { app in
            // setup: the run's only task, whose success is handed but will lose
            let run = try await start("name: one\ntasks:\n  only: {command: [\"true\"]}\n", app: app)
            let only = try #require(try await app.tasks(of: run)["only"]).requireID()
            let (scheduler, setupViews, handed, move) = try await handedSuccessThatWillLose(of: only, running: [only], app: app)
            var views = setupViews
            // act: the tick that takes the success as succeeded
            let pass = try await scheduler.advanceRuns(views: &views, handed: handed)
            let written = try await scheduler.moveAndClaim(handed.map(\.success), picked: [], guards: pass.guards)
            for success in handed { success.answer(written.succeeded.contains(success.taskID)) }
            // check: its view said every task succeeded, yet the run was left to the next tick
            #expect(try await move.value == false)
            #expect(try await status(run, app) == .running)
        }
    }

    @Test func test_aRunWithAHandedSuccess_stillMovesWhatDoesNotRelyOnIt() async throws {
        try await TestApp.with { app in
            // setup: `up` runs under this scheduler and its success is handed; `again` waits
            // for a retry whose time has come. The loop's view of the run is read as it is.
            let run = try await start("name: two\ntasks:\n  up: {command: [\"true\"]}\n  again: {command: [\"true\"], retries: {count: 2}}\n", app: app)
            let tasks = try await app.tasks(of: run)
            let up = try #require(tasks["up"]).requireID()
            let again = try #require(tasks["again"]).requireID()
            let scheduler = app.app.makeScheduler()
            try await TaskRun.query(on: app.database).filter(\.$id == up).set(\.$status, to: .running).set(\.$leaseOwner, to: scheduler.owner).update()
            try await TaskRun.query(on: app.database).filter(\.$id == again).set(\.$status, to: .retrying)
                .set(\.$notBefore, to: Date().addingTimeInterval(-1)).update()
            var views = RunViews()
            _ = try await views.view(of: run.requireID()) { try await SchedulerQueries(database: app.database).tasks(ofRun: run.requireID()) }
            let move = Task { try await scheduler.runner.successes.submit(TaskTransitions.Success(taskID: up, outputs: [:], metrics: [:])) }
            await scheduler.wakeup.wait(upTo: .seconds(60))
            let handed = scheduler.runner.successes.take()
            // act: the tick that takes up's success as succeeded
            _ = try await scheduler.advanceRuns(views: &views, handed: handed)
            // check: the retry did not wait for the success's move
            #expect(try await TaskRun.find(again, on: app.database)?.status == .ready)
            handed.forEach { $0.answer(nil) }
            #expect(try await move.value)
        }
    }

    @Test func test_shutdown_stopsTheRunningProcess_andRequeuesItsTaskWithoutCountingTheAttempt() async throws {
        try await TestApp.with { app in
            // setup: a task whose process runs when the scheduler stops
            let run = try await start("name: long\ntasks:\n  wait: {command: [sleep, '60']}\n", app: app)
            let scheduler = app.app.makeScheduler()
            let loop = Task { try await scheduler.run() }
            let deadline = ContinuousClock.now + .seconds(30)
            while try await TaskAttempt.query(on: app.database).filter(\.$pid != nil).first() == nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            // act: the scheduler stops, as on SIGTERM, and finishes what it was doing
            loop.cancel()
            _ = await loop.result
            // check
            let task = try #require(try await app.tasks(of: run)["wait"])
            // Requeued to run again at once: `retrying`, or `ready` when the loop's last tick,
            // still under way as the attempt ended, found that time had come (CI saw both).
            #expect([TaskState.retrying, .ready].contains(task.status), "\(task.status)")
            #expect(task.maxAttempts == 2, "the interrupted attempt does not count")
            let attempt = try #require(try await app.attempts(of: task).first)
            #expect(attempt.status == .failed)
            #expect(attempt.reason?.hasPrefix("interrupted: the server shut down") == true)
            #expect(!ProcessLauncher.isAlive(Int32(attempt.pid ?? 0)))
        }
    }

    /// The most attempts that ran at the same moment.
    private func mostAtOnce(_ attempts: [TaskAttempt]) -> Int {
        let events = attempts.flatMap { attempt in
            [(attempt.startedAt ?? .distantPast, 1), (attempt.finishedAt ?? .distantFuture, -1)]
        }
        // At equal times an end comes before a start: a slot freed is a slot taken.
        let ordered = events.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
        return ordered.reduce(into: (running: 0, most: 0)) { count, event in
            count.running += event.1
            count.most = max(count.most, count.running)
        }.most
    }

    @Test(arguments: ["the pipeline's concurrency", "TRAINPLAT_MAX_TASKS_PER_USER"])
    func test_limits_holdThroughTheScheduler(limit: String) async throws {
        let perUser = limit == "TRAINPLAT_MAX_TASKS_PER_USER"
        try await TestApp.with(configure: { config in
            config.maxConcurrentTasks = 8
            if perUser { config.maxTasksPerUser = 2 }
        }) { app in
            // setup: six tasks that could all run at once under the global limit
            let tasks = (0..<6).map { "  t\($0): {command: [sh, -c, \"sleep 0.3; echo '{}' > outputs.json\"]}" }.joined(separator: "\n")
            let run = try await start("name: limited\n\(perUser ? "" : "concurrency: 2\n")tasks:\n\(tasks)\n", app: app)
            let runID = try run.requireID()
            let database = app.database
            // act
            try await app.drive(until: {
                try await PipelineRun.find(runID, on: database)?.status == .succeeded
            }, timeout: .seconds(60))
            // check: never more than two at once, and two did run together
            let attempts = try await TaskAttempt.query(on: database).all()
            #expect(attempts.count == 6)
            #expect(mostAtOnce(attempts) == 2, "\(limit)")
        }
    }

    @Test func test_fairShare_smallRunOfAnotherUserIsNotQueuedBehindABigOne() async throws {
        try await TestApp.with(configure: { $0.maxConcurrentTasks = 1 }) { app in
            // setup: eight independent tasks of `big`, then one task of `small`
            let bigTasks = (0..<8).map { "  t\($0): {command: [sh, -c, \"sleep 0.2; echo '{}' > outputs.json\"]}" }.joined(separator: "\n")
            let big = try await start("name: big\ntasks:\n\(bigTasks)\n", app: app)
            let small = try await start("name: small\ntasks:\n  only: {command: [sh, -c, \"echo '{}' > outputs.json\"]}\n", app: app)
            let database = app.database
            // act
            try await app.drive(until: {
                try await PipelineRun.query(on: database).filter(\.$status ~~ [.succeeded, .failed]).count() == 2
            }, timeout: .seconds(60))
            // check: small's task started before most of big's
            let smallStart = try #require(try await app.tasks(of: small)["only"]?.startedAt)
            let bigStarts = try await app.tasks(of: big).values.compactMap(\.startedAt)
            #expect(bigStarts.filter { $0 < smallStart }.count <= 2, "small waited behind \(bigStarts.filter { $0 < smallStart }.count) of big's tasks")
        }
    }
}
