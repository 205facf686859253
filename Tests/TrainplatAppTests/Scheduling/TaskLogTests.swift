import FluentKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import TrainplatApp
import TrainplatCore

@Suite("Task logs: offsets and following")
struct TaskLogTests {
    @Test func test_follow_streamsTheLogAsItGrows_untilTheAttemptEnds_andOffsetsContinueIt() async throws {
        try await TestApp.with { app in
            // setup: a task that logs three lines over about a second
            let member = try await app.user()
            let project = try await app.project(members: [(member, .member)])
            let spec = #"""
                name: chatty
                tasks:
                  talk: {command: [sh, -c, "for i in 1 2 3; do echo line$i; sleep 0.4; done; echo '{}' > outputs.json"]}
                """#
            let version = try await PipelineService(database: app.database)
                .register(specText: spec, projectID: try project.requireID(), userID: try member.requireID()).version
            let run = try await RunService(database: app.database).start(versionID: try version.requireID(), params: [:], userID: try member.requireID())
            let runID = try run.requireID()
            let scheduler = Task { try await app.drive(until: { try await PipelineRun.find(runID, on: app.database)?.status.isTerminal == true }, timeout: .seconds(30)) }
            // wait for the task to run (its attempt's row comes only at its first tick)
            for _ in 0..<100 where try await TaskRun.query(on: app.database).filter(\.$status == .running).count() == 0 {
                try await Task.sleep(for: .milliseconds(20))
            }
            let headers = try app.headers(for: member)
            let uri = "/api/v1/runs/\(runID)/tasks/talk/log"
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act: follow while it runs (the request ends when the attempt does)
                let followed = try await client.execute(uri: uri + "?follow=true", method: .get, headers: headers)
                let whole = try await client.execute(uri: uri + "?offset=0", method: .get, headers: headers)
                let next = Int(whole.headers[.logNextOffset] ?? "") ?? -1
                let rest = try await client.execute(uri: uri + "?offset=\(next)", method: .get, headers: headers)
                let bad = try await client.execute(uri: uri + "?offset=-3", method: .get, headers: headers)
                // check
                #expect(String(buffer: followed.body) == "line1\nline2\nline3\n")
                #expect(String(buffer: whole.body) == "line1\nline2\nline3\n")
                #expect(next == 18)
                #expect(whole.headers[.attemptFinished] == "true")
                #expect(rest.body.readableBytes == 0)
                #expect(bad.status == .badRequest)
            }
            try await scheduler.value
        }
    }

    /// A succeeded attempt's row can still say `running` (written at its first tick, closed
    /// behind its task's move, or never when its server died between): its task says it ended.
    @Test func test_log_ofAnAttemptWhoseRowStillSaysRunning_hasEnded_onceItsTaskMovedOn() async throws {
        try await TestApp.with { app in
            // setup
            let member = try await app.user()
            let project = try await app.project(members: [(member, .member)])
            let spec = "name: done\ntasks:\n  t: {command: [sh, -c, \"echo hi; echo '{}' > outputs.json\"]}\n"
            let version = try await PipelineService(database: app.database)
                .register(specText: spec, projectID: try project.requireID(), userID: try member.requireID()).version
            let run = try await RunService(database: app.database).start(versionID: try version.requireID(), params: [:], userID: try member.requireID())
            let runID = try run.requireID()
            try await app.drive(until: { try await PipelineRun.find(runID, on: app.database)?.status.isTerminal == true }, timeout: .seconds(30))
            let row = try #require(try await TaskAttempt.query(on: app.database).first())
            (row.status, row.finishedAt) = (.running, nil)
            try await row.save(on: app.database)
            let headers = try app.headers(for: member)
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act
                let read = try await client.execute(uri: "/api/v1/runs/\(runID)/tasks/t/log", method: .get, headers: headers)
                let followed = try await client.execute(uri: "/api/v1/runs/\(runID)/tasks/t/log?follow=true", method: .get, headers: headers)
                // check: finished, and following ends rather than waiting for the row
                #expect(read.headers[.attemptFinished] == "true")
                #expect(String(buffer: followed.body) == "hi\n")
            }
        }
    }

    @Test func test_log_ofAnAttemptWhoseRowIsNotWrittenYet_isServedFromItsPath_untilItsTaskMovesOn() async throws {
        try await TestApp.with { app in
            // setup: a task running attempt 1 that has written to its log but not yet its row
            let member = try await app.user()
            let project = try await app.project(members: [(member, .member)])
            let version = try await PipelineService(database: app.database)
                .register(specText: "name: quick\ntasks:\n  t: {command: [sleep, '60']}\n", projectID: try project.requireID(), userID: try member.requireID())
                .version
            let run = try await RunService(database: app.database).start(versionID: try version.requireID(), params: [:], userID: try member.requireID())
            let runID = try run.requireID()
            let task = try #require(try await TaskRun.query(on: app.database).filter(\.$run.$id == runID).first())
            try await TaskRun.query(on: app.database).filter(\.$id == task.requireID()).set(\.$status, to: .running).set(\.$attemptCount, to: 1).update()
            let prefix = AttemptStore.directoryPrefix(runsDirectory: app.app.config.runsDirectory, runID: runID, task: "t")
            let logPath = AttemptStore.Attempt.logPath(directoryPrefix: prefix, number: 1)
            try FileManager.default.createDirectory(atPath: (logPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data("starting\n".utf8).write(to: URL(fileURLWithPath: logPath))
            let headers = try app.headers(for: member)
            let uri = "/api/v1/runs/\(runID)/tasks/t/log"
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act
                let running = try await client.execute(uri: uri, method: .get, headers: headers)
                let unknown = try await client.execute(uri: uri + "?attempt=2", method: .get, headers: headers)
                try await TaskRun.query(on: app.database).filter(\.$id == task.requireID()).set(\.$status, to: .cancelled).update()
                let ended = try await client.execute(uri: uri, method: .get, headers: headers)
                // check
                #expect(running.status == .ok)
                #expect(String(buffer: running.body) == "starting\n")
                #expect(running.headers[.attemptFinished] == "false")
                #expect(unknown.status == .notFound)
                #expect(ended.headers[.attemptFinished] == "true")
            }
        }
    }
}
