import FluentKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import TrainplatApp
import TrainplatCore

@Suite("Training sets: best version and the current pointer")
struct CurrentVersionTests {
    private func json(_ response: TestResponse) throws -> [String: JSONValue] {
        try #require(try JSONDecoder().decode(JSONValue.self, from: Data(response.body.readableBytesView)).objectValue)
    }

    @Test func test_best_thenMoveAndRollBack_appendsHistoryAndAudits() async throws {
        try await TestApp.with { app in
            // setup: three versions of "daily" with different quality
            let member = try await app.user()
            let project = try await app.project(members: [(member, .member)])
            let (projectID, userID) = (try project.requireID(), try member.requireID())
            let pipeline = try await PipelineService(database: app.database)
                .register(specText: "name: p\ntasks:\n  t: {command: [echo]}\n", projectID: projectID, userID: userID).version
            let run = try await RunService(database: app.database).start(versionID: try pipeline.requireID(), params: [:], userID: userID)
            let task = try #require(try await app.tasks(of: run)["t"])
            let provenance = Provenance(projectID: projectID, userID: userID, runID: try run.requireID(), taskID: try task.requireID(), defaultName: "daily")
            var ids: [String: UUID] = [:]
            for (name, score, balanced) in [("a", 0.7, true), ("b", 0.9, true), ("c", 0.95, false)] {
                let quality: JSONValue = .object(["checks": .object(["label_balance": .object(["passed": .bool(balanced), "minority_share": .double(balanced ? 0.4 : 0.01)])])])
                let version = try await TrainingSetRegistration.register(
                    ["content_hash": .string(String(repeating: name, count: 64)), "uri": .string("file:///\(name)"), "row_count": .int(1),
                     "name": .string("daily"), "config": .object(["quality_score": .double(score), "quality": quality])],
                    provenance: provenance, on: app.database)
                ids[name] = try version.requireID()
            }
            let versions = ids
            let headers = try app.headers(for: member)
            let base = "/api/v1/projects/\(projectID)/training-sets/daily"
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act / check: the best balanced version wins, with its reason
                let best = try await client.execute(uri: base + "/best?min_score=0.8&required_checks=label_balance", method: .get, headers: headers)
                #expect(try json(best)["version"]?.objectValue?["id"]?.stringValue == versions["b"]?.uuidString)
                #expect(try json(best)["reason"]?.stringValue?.contains("highest quality score (0.90) of 1 eligible") == true)
                #expect(try json(best)["rejected"]?.arrayValue?.count == 2)
                let none = try await client.execute(uri: base + "/best?min_score=0.99", method: .get, headers: headers)
                #expect(none.status == .notFound)
                #expect(try await client.execute(uri: base + "/best?min_score=high", method: .get, headers: headers).status == .badRequest)
                // act / check: move to a, then b, then roll back
                for name in ["a", "b"] {
                    let body = ByteBuffer(string: #"{"version_id": "\#(versions[name]?.uuidString ?? "")"}"#)
                    #expect(try await client.execute(uri: base + "/current", method: .put, headers: headers, body: body).status == .ok)
                }
                let rolledBack = try await client.execute(uri: base + "/current/rollback", method: .post, headers: headers)
                let state = try json(rolledBack)
                #expect(state["current"]?.objectValue?["id"]?.stringValue == versions["a"]?.uuidString)
                #expect(state["history"]?.arrayValue?.count == 3, "a rollback appends; it rewrites nothing")
                let foreign = ByteBuffer(string: #"{"version_id": "\#(UUID())"}"#)
                #expect(try await client.execute(uri: base + "/current", method: .put, headers: headers, body: foreign).status == .badRequest)
                let unknown = try await client.execute(uri: "/api/v1/projects/\(projectID)/training-sets/nope/current", method: .get, headers: headers)
                #expect(unknown.status == .notFound)
            }
            let actions = try await AuditEvent.query(on: app.database).filter(\.$action ~~ ["training_set.current", "training_set.rollback"]).all()
            #expect(actions.map(\.action).sorted() == ["training_set.current", "training_set.current", "training_set.rollback"])
        }
    }

    @Test func test_rollback_withoutAnEarlierVersion_is409() async throws {
        try await TestApp.with { app in
            let member = try await app.user()
            let project = try await app.project(members: [(member, .member)])
            try await TrainingSet(projectID: try project.requireID(), name: "empty").create(on: app.database)
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                let response = try await client.execute(
                    uri: "/api/v1/projects/\(try project.requireID())/training-sets/empty/current/rollback", method: .post,
                    headers: try app.headers(for: member))
                #expect(response.status == .conflict)
            }
        }
    }
}
