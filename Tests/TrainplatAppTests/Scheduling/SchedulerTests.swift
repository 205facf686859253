import FluentKit
import Foundation
import Testing
@testable import TrainplatApp
import TrainplatCore

@Suite("Scheduler and local executor, through the task contract")
struct SchedulerTests {
    @Test func test_scheduler_diamondDAG_passesOutputsDownstreamAndSucceeds() async throws {
        try await TestApp.with { app in
            // setup: d needs b and c, which both need a; b doubles a's output through a template
            let spec = #"""
                name: diamond
                tasks:
                  a: {command: [sh, -c, "echo '{\"outputs\": {\"n\": 21}}' > outputs.json"]}
                  b: {needs: [a], command: [sh, -c, "echo '{\"outputs\": {\"n\": {{ tasks.a.outputs.n }}}, \"metrics\": {\"twice\": 42}}' > outputs.json"]}
                  c: {needs: [a], command: [sh, -c, "echo '{\"outputs\": {}}' > outputs.json"]}
                  d: {needs: [b, c], command: [sh, -c, "test -f inputs.json && echo '{}' > outputs.json"]}
                """#
            // act
            let run = try await app.run(spec: spec)
            // check
            let tasks = try await app.tasks(of: run)
            #expect(run.status == .succeeded)
            #expect(tasks.values.allSatisfy { $0.status == .succeeded })
            #expect(tasks["b"]?.outputs?["n"] == .int(21))
            #expect(tasks["b"]?.metrics?["twice"]?.doubleValue == 42)
            #expect(tasks.values.allSatisfy { $0.attemptCount == 1 })
        }
    }

    @Test func test_scheduler_runWhoseSpecNoLongerParses_failsAlone_othersFinish() async throws {
        try await TestApp.with { app in
            // setup: two runs; the stored spec of one is damaged behind the API's back
            let broken = try await app.start(spec: "name: broken\ntasks:\n  a: {command: [echo]}\n  b: {needs: [a], command: [echo]}\n")
            let healthy = try await app.start(spec: #"name: healthy\#ntasks:\#n  a: {command: [sh, -c, "echo '{}' > outputs.json"]}\#n"#)
            try await app.database.sql.update(PipelineVersion.schema).set("spec", to: "tasks: [unclosed")
                .where("id", .equal, broken.$version.id).run()
            let database = app.database
            // act
            try await app.drive(until: {
                let runs = try await PipelineRun.query(on: database).all()
                return runs.allSatisfy(\.status.isTerminal)
            }, timeout: .seconds(30))
            // check
            let runs = try await PipelineRun.query(on: database).all()
            let failed = try #require(runs.first { $0.id == broken.id })
            #expect(failed.status == .failed)
            #expect(failed.reason?.contains("spec no longer parses") == true)
            #expect(try await app.tasks(of: failed).values.allSatisfy { $0.status == .cancelled })
            #expect(runs.first { $0.id == healthy.id }?.status == .succeeded)
        }
    }

    @Test func test_scheduler_failingTask_recordsExitCodeAndLastLogLine_andFailsDownstream() async throws {
        try await TestApp.with { app in
            // setup
            let spec = #"""
                name: failing
                tasks:
                  broken: {command: [sh, -c, "echo 'disk is on fire' >&2; exit 3"]}
                  after: {needs: [broken], command: [sh, -c, "echo '{}' > outputs.json"]}
                """#
            // act
            let run = try await app.run(spec: spec)
            // check
            let tasks = try await app.tasks(of: run)
            #expect(run.status == .failed)
            #expect(tasks["broken"]?.status == .failed)
            #expect(tasks["broken"]?.reason == "exited with code 3: disk is on fire")
            #expect(tasks["after"]?.status == .upstreamFailed)
            let attempts = try await app.attempts(of: try #require(tasks["broken"]))
            #expect(attempts.map(\.exitCode) == [3])
        }
    }

    @Test func test_scheduler_retryPolicy_retriesUntilSuccess() async throws {
        try await TestApp.with { app in
            // setup: fails on the first attempt, succeeds on the second (a marker file counts)
            let marker = app.directory + "/attempted"
            let spec = """
                name: flaky
                tasks:
                  flaky:
                    retries: {count: 2, backoff: 1s}
                    command: [sh, -c, "if [ -f \(marker) ]; then echo '{}' > outputs.json; else touch \(marker); exit 1; fi"]
                """
            // act
            let run = try await app.run(spec: spec)
            // check
            let task = try #require(try await app.tasks(of: run)["flaky"])
            #expect(run.status == .succeeded)
            #expect(task.attemptCount == 2)
            #expect(try await app.attempts(of: task).map(\.status) == [.failed, .succeeded])
        }
    }

    @Test(arguments: [
        ("exit 0", "wrote no outputs.json"),
        ("echo 'not json' > outputs.json", "outputs.json is not valid JSON"),
        (": > outputs.json", "outputs.json is not valid JSON"),
        (#"echo '{\"metrics\": {\"loss\": \"low\"}}' > outputs.json"#, "metrics.loss must be a number"),
        (#"echo '{\"surprise\": 1}' > outputs.json"#, "unknown field 'surprise'"),
        ("head -c 1048577 /dev/zero > outputs.json", "outputs.json is over the limit of 1048576 bytes"),
    ])
    func test_scheduler_badOutputs_failTheAttemptWithAReason(command: String, expected: String) async throws {
        try await TestApp.with { app in
            // act
            let run = try await app.run(spec: "name: bad-outputs\ntasks:\n  t: {command: [sh, -c, \"\(command)\"]}\n")
            // check
            let task = try #require(try await app.tasks(of: run)["t"])
            #expect(task.status == .failed)
            #expect(task.reason?.contains(expected) == true, "reason was \(task.reason ?? "nil")")
        }
    }

    @Test func test_scheduler_timeout_stopsTheProcessTree() async throws {
        try await TestApp.with { app in
            // setup: the task starts a grandchild; both must be gone after the timeout
            let pidFile = app.directory + "/grandchild.pid"
            let spec = """
                name: slow
                tasks:
                  slow: {timeout: 1s, command: [sh, -c, "sleep 60 & echo $! > \(pidFile); wait"]}
                """
            // act
            let run = try await app.run(spec: spec)
            // check
            let task = try #require(try await app.tasks(of: run)["slow"])
            #expect(task.status == .failed)
            #expect(task.reason?.hasPrefix("timed out after 1s") == true)
            let grandchild = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
            for _ in 0..<20 where ProcessLauncher.isAlive(grandchild) { try await Task.sleep(for: .milliseconds(100)) }
            #expect(!ProcessLauncher.isAlive(grandchild))
        }
    }

    @Test func test_scheduler_hugeLog_failsWithLogLimitReason() async throws {
        try await TestApp.with(configure: { $0.taskLogLimitBytes = 64 * 1024 }) { app in
            // act: prints log lines until stopped
            let run = try await app.run(spec: "name: noisy\ntasks:\n  noisy: {command: [sh, -c, \"while true; do echo 'a log line'; done\"]}\n")
            // check
            let task = try #require(try await app.tasks(of: run)["noisy"])
            #expect(task.status == .failed)
            #expect(task.reason?.contains("log exceeded the 65536-byte limit") == true, "reason was \(task.reason ?? "nil")")
        }
    }

    @Test func test_scheduler_killedTask_isRecordedAsFailedWithItsSignal() async throws {
        try await TestApp.with { app in
            // setup
            let (user, project) = try await app.owner()
            let spec = "name: victim\ntasks:\n  victim: {command: [sleep, '60']}\n"
            let version = try await PipelineService(database: app.database).register(specText: spec, projectID: project, userID: user).version
            let run = try await RunService(database: app.database).start(versionID: try version.requireID(), params: [:], userID: user)
            let database = app.database
            // act: once the attempt has a pid, kill it from outside
            try await app.drive(until: {
                guard let attempt = try await TaskAttempt.query(on: database).first() else { return false }
                if attempt.status == .running, let pid = attempt.pid { kill(Int32(pid), SIGKILL) }
                return try await PipelineRun.find(run.requireID(), on: database)?.status.isTerminal == true
            }, timeout: .seconds(30))
            // check
            let task = try #require(try await app.tasks(of: run)["victim"])
            #expect(task.status == .failed)
            #expect(task.reason == "killed by signal 9 (SIGKILL)")
        }
    }

    @Test func test_scheduler_attemptDirectoryThatCannotBeCreated_closesTheAttemptWithItsReason() async throws {
        try await TestApp.with { app in
            // setup: a file where the runs directory belongs
            let runs = app.app.config.runsDirectory
            try? FileManager.default.removeItem(atPath: runs)
            #expect(FileManager.default.createFile(atPath: runs, contents: Data("not a directory".utf8)))
            // act
            let run = try await app.run(spec: "name: nowhere\ntasks:\n  t: {command: [sh, -c, \"echo '{}' > outputs.json\"]}\n")
            // check: the task failed with the reason, and its attempt is recorded with it
            let task = try #require(try await app.tasks(of: run)["t"])
            #expect(task.status == .failed)
            #expect(task.reason?.hasPrefix("could not prepare the task") == true, "reason was \(task.reason ?? "nil")")
            let attempts = try await app.attempts(of: task)
            #expect(attempts.map(\.status) == [.failed])
            #expect(attempts.first?.reason == task.reason)
        }
    }

    @Test func test_scheduler_missingPython_failsTheAttemptWithAClearReason() async throws {
        try await TestApp.with(configure: { $0.pythonExecutable = "/nonexistent/python3" }) { app in
            // act
            let run = try await app.run(spec: "name: py\ntasks:\n  t: {uses: learning.train, with: {training_set: x}}\n")
            // check
            let task = try #require(try await app.tasks(of: run)["t"])
            #expect(task.status == .failed)
            #expect(task.reason?.contains("could not start '/nonexistent/python3'") == true, "reason was \(task.reason ?? "nil")")
        }
    }
}
