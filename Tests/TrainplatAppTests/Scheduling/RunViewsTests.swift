import Foundation
import Testing
import TrainplatCore
@testable import TrainplatApp

@Suite("The scheduler's views of its runs")
struct RunViewsTests {
    let runID = UUID()
    let first = SchedulerQueries.TaskRow(id: UUID(), name: "first", status: "running", notBefore: nil, createdAt: Date(timeIntervalSince1970: 1))
    let second = SchedulerQueries.TaskRow(id: UUID(), name: "second", status: "pending", notBefore: nil, createdAt: Date(timeIntervalSince1970: 2))

    private func active(_ counts: [String: Int]) -> SchedulerQueries.ActiveRun {
        SchedulerQueries.ActiveRun(id: runID, status: "running", versionID: UUID(), user: UUID(), pipeline: UUID(), taskCounts: counts)
    }

    /// A view of the run read once; answers it and how many reads it took.
    private func viewOnce(_ views: inout RunViews, reads: inout Int) async throws -> RunViews.View {
        try await views.view(of: runID) { [first, second] in
            reads += 1
            return [first, second]
        }
    }

    @Test func test_view_followsRecordedMoves_withoutReadingAgain() async throws {
        // setup
        var views = RunViews()
        var reads = 0
        _ = try await viewOnce(&views, reads: &reads)
        // act: the attempt succeeded; the database agrees
        views.record(first.id, movedTo: .succeeded)
        views.keep([active(["succeeded": 1, "pending": 1])])
        let view = try await viewOnce(&views, reads: &reads)
        // check
        #expect(reads == 1)
        #expect(view.states == ["first": .succeeded, "second": .pending])
    }

    @Test func test_started_running_andReady_followTheRecordedMoves() async throws {
        // setup
        var views = RunViews()
        var reads = 0
        _ = try await viewOnce(&views, reads: &reads)
        let run = active(["running": 1, "pending": 1])
        // act
        let before = (views.started(byUserOf: [run]), views.mayHaveReadyTasks([run]), views.occupants(of: [run]).count)
        views.record(second.id, movedTo: .ready)
        views.record(first.id, movedTo: .succeeded)
        let after = (views.started(byUserOf: [run]), views.mayHaveReadyTasks([run]), views.occupants(of: [run]).count)
        // check
        #expect(before.0 == [run.user.uuidString: 1] && !before.1 && before.2 == 1)
        #expect(after.0 == [run.user.uuidString: 1] && after.1 && after.2 == 0)
    }

    @Test func test_view_isReadAgain_whenTheDatabaseCountsDifferTwiceInARow_anOutcomeIsUnknown_orTheRunEnded() async throws {
        for change in ["counts differ twice", "unknown outcome", "run ended"] {
            // setup
            var views = RunViews()
            var reads = 0
            _ = try await viewOnce(&views, reads: &reads)
            // act
            switch change {
            case "counts differ twice":
                views.keep([active(["cancelled": 2])])
                views.keep([active(["cancelled": 2])])
            case "unknown outcome": views.record(first.id, movedTo: nil)
            default: views.keep([])
            }
            _ = try await viewOnce(&views, reads: &reads)
            // check
            #expect(reads == 2, "\(change)")
        }
    }

    @Test func test_view_isKept_whenTheCountsDifferForOneTick_whileAnOutcomeIsOnItsWay() async throws {
        // setup
        var views = RunViews()
        var reads = 0
        _ = try await viewOnce(&views, reads: &reads)
        // act: the attempt's update committed before the loop read the counts, its report came after
        views.keep([active(["succeeded": 1, "pending": 1])])
        views.record(first.id, movedTo: .succeeded)
        views.keep([active(["succeeded": 1, "pending": 1])])
        let view = try await viewOnce(&views, reads: &reads)
        // check
        #expect(reads == 1)
        #expect(view.states["first"] == .succeeded)
    }

    @Test func test_oldestReady_followsTheRunsOrder_andTheRecordedMoves() async throws {
        // setup: five tasks read oldest first, two of them ready
        let rows = (0..<5).map { index in
            SchedulerQueries.TaskRow(
                id: UUID(), name: "t\(index)", status: [1, 3].contains(index) ? "ready" : "pending", notBefore: nil,
                createdAt: Date(timeIntervalSince1970: Double(index)))
        }
        var views = RunViews()
        _ = try await views.view(of: runID) { rows }
        // act
        let atFirst = views.oldestReady(ofRun: runID, limit: 8).map(\.id)
        views.record(rows[1].id, movedTo: .running)
        views.record(rows[0].id, movedTo: .ready)
        views.record(rows[4].id, movedTo: .ready)
        let afterMoves = views.oldestReady(ofRun: runID, limit: 2).map(\.id)
        // check
        #expect(atFirst == [rows[1].id, rows[3].id])
        #expect(afterMoves == [rows[0].id, rows[3].id], "oldest first, at most the limit")
        #expect(views.oldestReady(ofRun: UUID(), limit: 8).isEmpty, "a run without a view has none")
    }

    @Test func test_view_isReadAgain_onceItIsOlderThanItsMaximumAge() async throws {
        // setup
        var views = RunViews()
        views.maxAge = .zero
        var reads = 0
        _ = try await viewOnce(&views, reads: &reads)
        // act
        try await Task.sleep(for: .milliseconds(5))
        views.keep([active(["running": 1, "pending": 1])])
        _ = try await viewOnce(&views, reads: &reads)
        // check
        #expect(reads == 2)
    }
}
