import FluentKit
import Foundation
import Testing
@testable import TrainplatApp

/// Succeeded attempts' rows are written behind their tasks' moves (`SucceededAttempts`):
/// all of them by the time the run is finished, and by the next scheduler to start when the
/// server that kept them ended first.
@Suite("Succeeded attempts written behind")
struct SucceededAttemptsTests {
    @Test func test_everySucceededAttempt_isRecorded_whenTheRunIsSeenFinished() async throws {
        try await TestApp.with { app in
            // setup: 30 independent tasks, each a few milliseconds
            let spec = "name: wide\ntasks:\n" + (0..<30).map { "  t\($0): {command: [sh, -c, \"echo '{}' > outputs.json\"]}\n" }.joined()
            let run = try await app.start(spec: spec)
            let database = app.database
            let recordedAtFinish = RecordedAtFinish()
            // act: the scheduler runs; the check is made while it still runs
            try await app.drive(until: {
                guard try await PipelineRun.find(run.requireID(), on: database)?.status.isTerminal == true else { return false }
                await recordedAtFinish.set(try await TaskAttempt.query(on: database).filter(\.$status == .succeeded).count())
                return true
            }, timeout: .seconds(60))
            // check
            #expect(await recordedAtFinish.count == 30)
            for task in try await app.tasks(of: run).values {
                let attempts = try await app.attempts(of: task)
                #expect(attempts.map(\.number) == [1], "\(task.name)")
                #expect(attempts.first?.exitCode == 0)
                #expect(attempts.first?.id == AttemptStore.Attempt.id(1, of: try task.requireID()))
            }
        }
    }

    @Test func test_aStoppingScheduler_writesTheRowsItKept() async throws {
        try await TestApp.with { app in
            // setup: a quick task beside one that runs until the scheduler stops
            let run = try await app.start(spec: "name: stop\ntasks:\n  quick: {command: [sh, -c, \"echo '{}' > outputs.json\"]}\n  slow: {command: [sleep, '30']}\n")
            let runID = try run.requireID()
            let database = app.database
            // act: the scheduler is stopped as soon as the quick task has succeeded
            try await app.drive(until: {
                try await TaskRun.query(on: database).filter(\.$run.$id == runID).filter(\.$name == "quick").first()?.status == .succeeded
            }, timeout: .seconds(30))
            // check: its row was written as the scheduler stopped, not by a repair
            let quick = try #require(try await app.tasks(of: run)["quick"])
            let rows = try await app.attempts(of: quick)
            #expect(rows.map(\.status) == [.succeeded])
            #expect(rows.first?.reason == nil)
        }
    }

    @Test func test_unrecordedSuccesses_areRecordedOnce_andGiveWayToTheRealRow() async throws {
        try await TestApp.with { app in
            // setup: a finished run whose server "ended" before writing its tasks' rows: a's
            // row was never written, b's only as `running` (at its first tick); c's is whole
            let ok = "{command: [sh, -c, \"echo '{}' > outputs.json\"]}"
            let run = try await app.run(spec: "name: three\ntasks:\n  a: \(ok)\n  b: \(ok)\n  c: \(ok)\n")
            let tasks = try await app.tasks(of: run)
            let lost = try #require(tasks["a"])
            let lostID = try lost.requireID()
            try await TaskAttempt.query(on: app.database).filter(\.$task.$id == lostID).delete()
            let halfTask = try #require(tasks["b"])
            let half = try #require(try await app.attempts(of: halfTask).first)
            (half.status, half.finishedAt) = (.running, nil)
            try await half.save(on: app.database)
            let store = AttemptStore(database: app.database)
            let runs = app.app.config.runsDirectory
            // act
            let recorded = try await store.recordUnrecordedSuccesses(runsDirectory: runs)
            let again = try await store.recordUnrecordedSuccesses(runsDirectory: runs)
            // check: a and b recorded succeeded, saying what happened; c's row untouched
            #expect((recorded, again) == (2, 0))
            let row = try #require(try await app.attempts(of: lost).first)
            #expect((row.number, row.status, row.reason) == (1, .succeeded, AttemptStore.unrecordedReason))
            let finished = try await app.attempts(of: halfTask)
            #expect(finished.map(\.status) == [.succeeded])
            #expect(finished.first?.reason == AttemptStore.unrecordedReason)
            #expect(finished.first?.finishedAt != nil)
            let wholeTask = try #require(tasks["c"])
            #expect(try await app.attempts(of: wholeTask).first?.reason == nil)
            // act: the server that ran it writes its row after all
            let prefix = AttemptStore.directoryPrefix(runsDirectory: runs, runID: try run.requireID(), task: "a")
            try await store.closeSucceeded([.init(attempt: .init(1, of: lostID, directoryPrefix: prefix), exitCode: 0, finishedAt: Date())])
            // check: still one row, now the real one
            let rows = try await app.attempts(of: lost)
            #expect(rows.map(\.number) == [1])
            #expect((rows.first?.reason, rows.first?.exitCode) == (nil, 0))
        }
    }

    @Test func test_aStartingScheduler_recordsTheSuccessesAnEndedServerDidNot() async throws {
        try await TestApp.with { app in
            // setup
            let run = try await app.run(spec: "name: one\ntasks:\n  only: {command: [sh, -c, \"echo '{}' > outputs.json\"]}\n")
            let task = try #require(try await app.tasks(of: run)["only"])
            try await TaskAttempt.query(on: app.database).delete()
            let database = app.database
            // act
            try await app.drive(until: { try await TaskAttempt.query(on: database).count() == 1 }, timeout: .seconds(30))
            // check
            #expect(try await app.attempts(of: task).first?.reason == AttemptStore.unrecordedReason)
        }
    }

    /// A slow server's late row does not undo a recovery's verdict on the same attempt.
    @Test func test_aLateRow_doesNotCloseOverAnAttemptRecordedLost() async throws {
        try await TestApp.with { app in
            // setup: attempt 1 of a task recorded lost by a recovery
            let run = try await app.run(spec: "name: late\ntasks:\n  t: {command: [sh, -c, \"echo '{}' > outputs.json\"]}\n")
            let task = try #require(try await app.tasks(of: run)["t"])
            let row = try #require(try await app.attempts(of: task).first)
            (row.status, row.reason) = (.failed, "lost: no heartbeat")
            try await row.save(on: app.database)
            let store = AttemptStore(database: app.database)
            let prefix = AttemptStore.directoryPrefix(runsDirectory: app.app.config.runsDirectory, runID: try run.requireID(), task: "t")
            let late = AttemptStore.Attempt(1, of: try task.requireID(), directoryPrefix: prefix)
            // act: the server that ran it writes its outcome after all, succeeded or failed
            try await store.closeSucceeded([.init(attempt: late, exitCode: 0, finishedAt: Date())])
            try await store.close(late, status: .failed, reason: "exited with 1")
            // check
            let rows = try await app.attempts(of: task)
            #expect(rows.map(\.status) == [.failed])
            #expect(rows.first?.reason == "lost: no heartbeat")
        }
    }

    @Test func test_attemptIDs_areTheSameForTheSameAttempt_only() {
        let (task, other) = (UUID(), UUID())
        let id = AttemptStore.Attempt.id(1, of: task)
        #expect(id == AttemptStore.Attempt.id(1, of: task))
        #expect(Set([id, AttemptStore.Attempt.id(2, of: task), AttemptStore.Attempt.id(1, of: other)]).count == 3)
        #expect(id.uuidString.dropFirst(14).first == "8", "a version 8 (custom) UUID: \(id)")
    }
}

private actor RecordedAtFinish {
    private(set) var count: Int?

    func set(_ count: Int) {
        self.count = count
    }
}
