import FluentKit
import Foundation
import Logging
import Testing
@testable import TrainplatApp
import TrainplatCore

@Suite("Cron schedules start runs, once per interval")
struct CronTriggerTests {
    /// A pipeline scheduled every minute, whose version was created `minutesAgo` minutes ago.
    private func scheduled(_ app: TestApp, catchup: Catchup, minutesAgo: Double) async throws -> (Pipeline, Date) {
        let owner = try await app.user()
        let project = try await app.project(members: [(owner, .owner)])
        let spec = "name: every-minute\nschedule: \"* * * * *\"\ncatchup: \(catchup.rawValue)\ntasks:\n  t: {command: [echo]}\n"
        let registered = try await PipelineService(database: app.database).register(specText: spec, projectID: try project.requireID(), userID: try owner.requireID())
        let created = Date().addingTimeInterval(-minutesAgo * 60)
        try await PipelineVersion.query(on: app.database).filter(\.$id == registered.version.requireID()).set(\.$createdAt, to: created).update()
        return (registered.pipeline, created)
    }

    private func trigger(_ app: TestApp) -> CronTrigger {
        CronTrigger(database: app.database, specs: SpecCache(), quotas: app.app.quotas, logger: Logger(label: "test"))
    }

    @Test func test_skip_startsOnlyTheLatestMissedInterval_andNeverTwice() async throws {
        try await TestApp.with { app in
            // setup
            let (pipeline, _) = try await scheduled(app, catchup: .skip, minutesAgo: 5.5)
            // The same moment for both firings: on a slow machine the wall clock could cross
            // into the next minute between them, which rightly fires that interval too.
            let now = Date()
            // act
            let first = try await trigger(app).fireDueSchedules(now: now)
            let again = try await trigger(app).fireDueSchedules(now: now)
            // check
            let runs = try await PipelineRun.query(on: app.database).filter(\.$pipeline.$id == pipeline.requireID()).all()
            #expect(first == 1 && again == 0)
            #expect(runs.count == 1)
            let scheduledFor = try #require(runs.first?.scheduledFor)
            #expect(now.timeIntervalSince(scheduledFor) < 60)
            #expect(runs.first?.logicalTime == scheduledFor)
        }
    }

    @Test func test_backfill_startsEveryMissedInterval_andTheIndexRefusesASecondRunOfAnInterval() async throws {
        try await TestApp.with { app in
            // setup
            let (pipeline, created) = try await scheduled(app, catchup: .backfill, minutesAgo: 5.5)
            let now = Date()
            // act
            let started = try await trigger(app).fireDueSchedules(now: now)
            let again = try await trigger(app).fireDueSchedules(now: now)
            // check
            let runs = try await PipelineRun.query(on: app.database).filter(\.$pipeline.$id == pipeline.requireID()).all()
            let intervals = Set(runs.compactMap(\.scheduledFor))
            #expect(started == runs.count && again == 0)
            #expect(runs.count == intervals.count)
            #expect((5...6).contains(runs.count))
            #expect(intervals.allSatisfy { $0 > created && $0 <= now })
            // a second scheduler racing for the same interval hits the unique index
            let first = try #require(runs.first)
            await #expect(throws: (any Error).self) {
                _ = try await RunService(database: app.database).start(
                    versionID: first.$version.id, params: [:], userID: first.$triggeredBy.id, logicalTime: now, scheduledFor: first.scheduledFor)
            }
        }
    }
}
