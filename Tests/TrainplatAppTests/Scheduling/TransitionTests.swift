import FluentKit
import Foundation
import Testing
@testable import TrainplatApp
import TrainplatCore

@Suite("Guarded transitions and lease recovery")
struct TransitionTests {
    /// A run with one task in the given state, outside any scheduler.
    private func taskInState(_ state: TaskState, app: TestApp) async throws -> TaskRun {
        let (user, project) = try await app.owner()
        let spec = "name: one\ntasks:\n  only: {command: [sleep, '60']}\n"
        let version = try await PipelineService(database: app.database).register(specText: spec, projectID: project, userID: user).version
        let run = try await RunService(database: app.database).start(versionID: try version.requireID(), params: [:], userID: user)
        let task = try #require(try await app.tasks(of: run)["only"])
        try await TaskRun.query(on: app.database).filter(\.$id == task.requireID()).set(\.$status, to: state).update()
        return task
    }

    @Test func test_claim_concurrentClaims_exactlyOneWins() async throws {
        try await TestApp.with { app in
            // setup
            let task = try await taskInState(.ready, app: app)
            let transitions = TaskTransitions(database: app.database, metrics: SchedulerMetrics())
            let id = try task.requireID()
            // act: eight schedulers race for the same ready task
            let wins = try await withThrowingTaskGroup(of: Int?.self) { group in
                for index in 0..<8 {
                    group.addTask { try await transitions.claim([id], owner: "scheduler-\(index)", leaseSeconds: 30).first?.attempt }
                }
                return try await group.reduce(into: [Int]()) { wins, attempt in if let attempt { wins.append(attempt) } }
            }
            // check: one winner, holding attempt 1, counted once
            #expect(wins == [1])
            let claimed = try await TaskRun.find(id, on: app.database)
            #expect(claimed?.status == .running)
            #expect(claimed?.attemptCount == 1)
        }
    }

    @Test func test_move_fromDisallowedState_isRefused() async throws {
        try await TestApp.with { app in
            // setup
            let task = try await taskInState(.succeeded, app: app)
            let transitions = TaskTransitions(database: app.database, metrics: SchedulerMetrics())
            // act
            let moved = try await transitions.move(try task.requireID(), to: .running)
            // check
            #expect(!moved)
            #expect(try await TaskRun.find(task.requireID(), on: app.database)?.status == .succeeded)
        }
    }

    @Test func test_succeed_aBatch_storesEachTasksOwnOutputs_andMovesOnlyRunningTasks() async throws {
        try await TestApp.with { app in
            // setup: two running tasks and one that was cancelled meanwhile
            let first = try await taskInState(.running, app: app)
            let second = try await taskInState(.running, app: app)
            let cancelled = try await taskInState(.cancelled, app: app)
            for task in [first, second, cancelled] {
                try await TaskRun.query(on: app.database).filter(\.$id == task.requireID()).set(\.$leaseOwner, to: "scheduler-a").update()
            }
            let transitions = TaskTransitions(database: app.database, metrics: SchedulerMetrics())
            let successes = try [(first, 1.5), (second, 2.5), (cancelled, 3.5)].map { task, value in
                TaskTransitions.Success(taskID: try task.requireID(), outputs: ["value": .double(value), "name": .string("out-\(value)")], metrics: ["loss": .double(value / 10)])
            }
            // act
            let moved = try await transitions.succeed(successes, owner: "scheduler-a")
            // check: each answer in order; each moved row has its own outputs and metrics
            #expect(moved == [true, true, false])
            for (task, value) in [(first, 1.5), (second, 2.5)] {
                let row = try #require(try await TaskRun.find(task.requireID(), on: app.database))
                #expect(row.status == .succeeded)
                #expect(row.outputs == ["value": .double(value), "name": .string("out-\(value)")])
                #expect(row.metrics == ["loss": .double(value / 10)])
                #expect(row.progress == 1.0)
                #expect(row.finishedAt != nil)
            }
            let untouched = try #require(try await TaskRun.find(cancelled.requireID(), on: app.database))
            #expect(untouched.status == .cancelled)
            #expect(untouched.outputs == nil)
        }
    }

    /// Two tasks of one run, `up` running (its attempt just succeeded) and `down`, which
    /// needs it, pending: what a chain's step hands to `succeedAndClaim`.
    private func chainStep(upState: TaskState, upOwner: String = "scheduler-a", app: TestApp) async throws -> (up: UUID, down: UUID) {
        let (user, project) = try await app.owner()
        let spec = "name: step\ntasks:\n  up: {command: [sleep, '60']}\n  down: {command: [sleep, '60'], needs: [up]}\n"
        let version = try await PipelineService(database: app.database).register(specText: spec, projectID: project, userID: user).version
        let run = try await RunService(database: app.database).start(versionID: try version.requireID(), params: [:], userID: user)
        let tasks = try await app.tasks(of: run)
        let up = try #require(tasks["up"]).requireID()
        try await TaskRun.query(on: app.database).filter(\.$id == up).set(\.$status, to: upState).set(\.$leaseOwner, to: upOwner).update()
        return (up, try #require(tasks["down"]).requireID())
    }

    @Test func test_succeedAndClaim_movesTheSuccess_andClaimsTheTaskItReadies() async throws {
        try await TestApp.with { app in
            // setup
            let (up, down) = try await chainStep(upState: .running, app: app)
            let transitions = TaskTransitions(database: app.database, metrics: SchedulerMetrics())
            let success = TaskTransitions.Success(taskID: up, outputs: ["rows": .int(3)], metrics: ["auc": .double(0.5)])
            // act
            let before = Date()
            let written = try await transitions.succeedAndClaim([success], claims: [down], guards: [down: [up]], owner: "scheduler-a", leaseSeconds: 30)
            let after = Date()
            // check: the success with its outputs, the claim with its lease and first attempt,
            // its times read back as the models read them (the statement binds them itself on SQLite)
            #expect(written.succeeded == [up])
            #expect(written.claimed.map(\.taskID) == [down])
            #expect(written.claimed.first?.attempt == 1)
            let upRow = try #require(try await TaskRun.find(up, on: app.database))
            #expect((upRow.status, upRow.outputs, upRow.metrics, upRow.progress) == (.succeeded, ["rows": .int(3)], ["auc": .double(0.5)], 1.0))
            let window = before.addingTimeInterval(-0.001)...after.addingTimeInterval(0.001)
            #expect(upRow.finishedAt.map(window.contains) == true)
            let downRow = try #require(try await TaskRun.find(down, on: app.database))
            #expect((downRow.status, downRow.leaseOwner, downRow.attemptCount, downRow.outputs) == (.running, "scheduler-a", 1, nil))
            #expect(downRow.finishedAt == nil)
            #expect(downRow.startedAt.map(window.contains) == true)
            #expect(downRow.leaseExpiresAt.map { window.contains($0.addingTimeInterval(-30)) } == true)
        }
    }

    /// The upstream task's state and lease owner when its success is written: it left
    /// `running`, or another scheduler recovered it and runs it again.
    @Test(arguments: [(TaskState.cancelled, "scheduler-a"), (.retrying, "scheduler-a"), (.failed, "scheduler-a"), (.running, "scheduler-b")])
    func test_succeedAndClaim_aSuccessThatLost_readiesNothing(upState: TaskState, upOwner: String) async throws {
        try await TestApp.with { app in
            // setup
            let (up, down) = try await chainStep(upState: upState, upOwner: upOwner, app: app)
            let transitions = TaskTransitions(database: app.database, metrics: SchedulerMetrics())
            let success = TaskTransitions.Success(taskID: up, outputs: [:], metrics: [:])
            // act
            let written = try await transitions.succeedAndClaim([success], claims: [down], guards: [down: [up]], owner: "scheduler-a", leaseSeconds: 30)
            // check: neither moved
            #expect(written.succeeded.isEmpty)
            #expect(written.claimed.isEmpty)
            #expect(try await TaskRun.find(up, on: app.database)?.status == upState)
            #expect(try await TaskRun.find(down, on: app.database)?.status == .pending)
        }
    }

    @Test func test_recovery_expiredLease_retriesTheTaskAndSaysWhy() async throws {
        try await TestApp.with { app in
            // setup: a task "running" under a scheduler that died a minute ago
            let task = try await taskInState(.running, app: app)
            let id = try task.requireID()
            try await TaskRun.query(on: app.database).filter(\.$id == id)
                .set(\.$leaseOwner, to: "scheduler-dead").set(\.$leaseExpiresAt, to: Date().addingTimeInterval(-60))
                .set(\.$attemptCount, to: 1).set(\.$maxAttempts, to: 2).update()
            try await TaskAttempt(taskID: id, number: 1, workDirectory: app.directory, logPath: app.directory + "/log").create(on: app.database)
            // act
            try await app.app.makeScheduler().recoverExpiredLeases()
            // check
            let recovered = try #require(try await TaskRun.find(id, on: app.database))
            #expect(recovered.status == .retrying)
            #expect(recovered.reason?.hasPrefix("lost: no heartbeat from scheduler-dead") == true)
            #expect(try await app.attempts(of: recovered).map(\.status) == [.failed])
        }
    }

    @Test func test_recovery_killedBetweenClaimAndAttempt_recordsTheLostAttempt_nextTakesTheFollowingNumber() async throws {
        try await TestApp.with { app in
            // setup: the server died after its claim counted attempt 1 but before storing it
            let run = try await app.start(spec: "name: one\ntasks:\n  only: {command: [sh, -c, \"echo '{}' > outputs.json\"]}\n")
            let id = try #require(try await app.tasks(of: run)["only"]).requireID()
            try await TaskRun.query(on: app.database).filter(\.$id == id).set(\.$status, to: .running).set(\.$attemptCount, to: 1)
                .set(\.$leaseOwner, to: "scheduler-dead").set(\.$leaseExpiresAt, to: Date().addingTimeInterval(-60)).update()
            // act
            try await app.drive(
                until: { try await PipelineRun.find(run.requireID(), on: app.database)?.status.isTerminal == true }, timeout: .seconds(30))
            // check: the attempt that never started is recorded as lost, and numbers stay contiguous
            let task = try #require(try await TaskRun.find(id, on: app.database))
            let attempts = try await app.attempts(of: task)
            #expect(task.status == .succeeded)
            #expect(attempts.map(\.number) == [1, 2])
            #expect(attempts.map(\.status) == [.failed, .succeeded])
            #expect(attempts.first?.reason?.hasPrefix("lost: the server died before this attempt's row was written") == true)
        }
    }

    @Test func test_recovery_recognisesATaskProcessByItsEnvironment_notByItsPidAlone() throws {
        // setup: a process started the way the executor starts tasks
        let taskID = UUID()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sleep")
        process.arguments = ["5"]
        process.environment = ["TRAINPLAT_TASK_ID": taskID.uuidString.lowercased()]
        try process.run()
        defer { process.terminate() }
        // act / check: a stored pid counts only while it is still that task's process
        // (right after the spawn the child may not have exec'd yet: give it a moment)
        var recognised = false
        for _ in 0..<50 where !recognised {
            recognised = ProcessLauncher.isTaskProcess(process.processIdentifier, taskID: taskID)
            if !recognised { Thread.sleep(forTimeInterval: 0.02) }
        }
        #expect(recognised)
        #expect(!ProcessLauncher.isTaskProcess(process.processIdentifier, taskID: UUID()))
        #expect(!ProcessLauncher.isTaskProcess(getpid(), taskID: taskID))
    }

    @Test func test_recovery_stopsEveryProcessTreeNamingTheTask_andNoOther() async throws {
        // setup: a lost task's process with a child of its own, and another task's process
        let lost = UUID()
        let directory = FileManager.default.temporaryDirectory.path
        func start(_ taskID: UUID) throws -> pid_t {
            try ProcessLauncher.spawn(
                arguments: ["sh", "-c", "sleep 30 & wait"], environment: ["PATH": "/usr/bin:/bin", "TRAINPLAT_TASK_ID": taskID.uuidString.lowercased()],
                directory: directory, logPath: "/dev/null")
        }
        let lostLeader = try start(lost)
        let other = try start(UUID())
        defer { ProcessLauncher.signalGroup(other, SIGKILL) }
        // the child must exist before the signal, or the check below proves nothing
        var lostChild: pid_t?
        for _ in 0..<100 where lostChild == nil {
            lostChild = Self.children(of: lostLeader).first
            if lostChild == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        let child = try #require(lostChild)
        // act
        ProcessLauncher.signalTaskProcesses(of: lost, SIGKILL)
        // check: the lost tree is gone (its leader reaped here), the other task untouched
        #expect(await ProcessLauncher.waitForExit(of: lostLeader) == .signaled(signal: SIGKILL))
        var childGone = false
        for _ in 0..<100 where !childGone {
            childGone = !ProcessLauncher.isAlive(child)
            if !childGone { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(childGone)
        #expect(ProcessLauncher.isAlive(other))
    }

    private static func children(of pid: pid_t) -> [pid_t] {
        let path = "/proc/\(pid)/task/\(pid)/children"
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { pid_t($0) }
    }
}
