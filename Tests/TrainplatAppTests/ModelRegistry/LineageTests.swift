import FluentKit
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import TrainplatApp
import TrainplatCore

@Suite("Lineage")
struct LineageTests {
    @Test func test_lineage_linksTrainingSetRunAndModels_bothWays() async throws {
        try await TestApp.with { app in
            // setup: one run registers a training set, a parent model and a child trained on the set
            let owner = try await app.user()
            let project = try await app.project(members: [(owner, .viewer)])
            let (projectID, userID) = (try project.requireID(), try owner.requireID())
            let version = try await PipelineService(database: app.database)
                .register(specText: "name: lin\ntasks:\n  t: {command: [echo]}\n", projectID: projectID, userID: userID).version
            let run = try await RunService(database: app.database).start(versionID: try version.requireID(), params: [:], userID: userID)
            let task = try #require(try await app.tasks(of: run)["t"])
            let provenance = Provenance(projectID: projectID, userID: userID, runID: try run.requireID(), taskID: try task.requireID(), defaultName: "lin")
            let hash = String(repeating: "c", count: 64)
            let set = try await TrainingSetRegistration.register(
                ["content_hash": .string(hash), "uri": .string("file:///s"), "row_count": .int(3)], provenance: provenance, on: app.database)
            let parent = try await ModelVersionRegistration.register(
                ["artifact_hash": .string("p"), "artifact_uri": .string("file:///p"), "model_name": .string("ranker")],
                provenance: provenance, on: app.database)
            let child = try await ModelVersionRegistration.register(
                ["artifact_hash": .string("c"), "artifact_uri": .string("file:///c"), "training_set_version": .string(hash),
                 "parent": .object(["artifact_hash": .string("p")])],
                provenance: provenance, on: app.database)
            // an update without a model name continues its parent's model
            #expect(child.modelName == "ranker" && child.number == 2)
            let headers = try app.headers(for: owner)
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act
                let modelLineage = try await client.execute(uri: "/api/v1/model-versions/\(try child.requireID())/lineage", method: .get, headers: headers)
                let setLineage = try await client.execute(uri: "/api/v1/training-set-versions/\(set.versionID)/lineage", method: .get, headers: headers)
                // check
                let model = try JSONDecoder().decode(JSONValue.self, from: Data(modelLineage.body.readableBytesView)).objectValue ?? [:]
                let trainingSet = try JSONDecoder().decode(JSONValue.self, from: Data(setLineage.body.readableBytesView)).objectValue ?? [:]
                #expect(model["training_set_version"] == .string(hash))
                #expect(model["parents"]?.arrayValue?.compactMap(\.stringValue) == [try parent.requireID().uuidString])
                #expect(model["produced_by"]?.objectValue?["task"] == .string("t"))
                #expect(model["produced_by"]?.objectValue?["pipeline_version"] == .int(1))
                #expect(trainingSet["models"]?.arrayValue?.compactMap(\.stringValue) == [try child.requireID().uuidString])
            }
        }
    }
}
