import FluentKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import TrainplatApp
import TrainplatCore

@Suite("Storage tiering: lifecycle rules, the dry-run report, the move as a task")
struct StorageTieringTests {
    /// A registered training-set version whose data is a real file, created `ageDays` ago.
    private func version(
        _ name: String, bytes: Int, ageDays: Double, provenance: Provenance, app: TestApp
    ) async throws -> TrainingSetVersion {
        let file = "\(app.directory)/runs/\(name).parquet"
        try FileManager.default.createDirectory(atPath: "\(app.directory)/runs", withIntermediateDirectories: true)
        try Data(count: bytes).write(to: URL(fileURLWithPath: file))
        let version = try await TrainingSetRegistration.register(
            ["content_hash": .string(String(repeating: String(name.prefix(1)), count: 64)), "uri": .string(URL(fileURLWithPath: file).absoluteString),
             "row_count": .int(1)],
            provenance: provenance, on: app.database)
        try await TrainingSetVersion.query(on: app.database).filter(\.$id == version.requireID())
            .set(\.$createdAt, to: Date().addingTimeInterval(-ageDays * 86_400)).update()
        return version
    }

    @Test func test_lifecycle_dryRunNamesTheMoves_thenTheTaskMovesTheDataAndRepointsTheVersion() async throws {
        try await TestApp.with { app in
            // setup: an old version, an old pinned one, a fresh one, an old one in use
            let owner = try await app.user()
            let project = try await app.project(members: [(owner, .owner)])
            let (projectID, userID) = (try project.requireID(), try owner.requireID())
            let pipeline = try await PipelineService(database: app.database)
                .register(specText: "name: p\ntasks:\n  t: {command: [echo]}\n", projectID: projectID, userID: userID).version
            let run = try await RunService(database: app.database).start(versionID: try pipeline.requireID(), params: [:], userID: userID)
            let task = try #require(try await app.tasks(of: run)["t"])
            let provenance = Provenance(projectID: projectID, userID: userID, runID: try run.requireID(), taskID: try task.requireID(), defaultName: "s")
            let old = try await version("a", bytes: 3 << 20, ageDays: 100, provenance: provenance, app: app)
            let pinned = try await version("b", bytes: 1 << 20, ageDays: 100, provenance: provenance, app: app)
            _ = try await version("c", bytes: 1 << 20, ageDays: 1, provenance: provenance, app: app)
            // old, but a model was trained on it just now: it counts as used
            let used = try await version("d", bytes: 1 << 20, ageDays: 100, provenance: provenance, app: app)
            _ = try await ModelVersionRegistration.register(
                ["artifact_hash": .string("m"), "artifact_uri": .string("file:///m"), "training_set_version": .string(used.versionID)],
                provenance: provenance, on: app.database)
            let headers = try app.headers(for: owner)
            let moveRunID = try await Application(router: app.app.buildRouter()).test(.router) { client -> UUID? in
                try await client.execute(
                    uri: "/api/v1/training-set-versions/\(try pinned.requireID())/pin", method: .put, headers: headers,
                    body: ByteBuffer(string: #"{"pinned": true}"#)) { #expect($0.status == .ok) }
                let rules = ByteBuffer(string: #"{"rules": [{"unused_days": 30, "to": "warm"}, {"unused_days": 90, "to": "cold"}]}"#)
                try await client.execute(uri: "/api/v1/projects/\(projectID)/storage/lifecycle", method: .put, headers: headers, body: rules) {
                    #expect($0.status == .ok)
                }
                // act: the dry run
                try await client.execute(uri: "/api/v1/projects/\(projectID)/storage/tiering", method: .get, headers: headers) { response in
                    // check
                    let plan = try JSONDecoder().decode([String: JSONValue].self, from: Data(buffer: response.body))
                    let moves = plan["moves"]?.arrayValue?.compactMap(\.objectValue) ?? []
                    #expect(moves.map { $0["id"]?.stringValue } == [try old.requireID().uuidString])
                    #expect(moves.first?["to"]?.stringValue == "cold")
                    #expect(plan["bytes_moved"]?.intValue == 3 << 20)
                    #expect(abs((plan["monthly_saving"]?.doubleValue ?? 0) - 3.0 / 1024 * (0.10 - 0.0125)) < 1e-9)
                }
                // act: the move
                let response = try await client.execute(uri: "/api/v1/projects/\(projectID)/storage/tiering", method: .post, headers: headers)
                #expect(response.status == .created)
                let run = try JSONDecoder().decode([String: JSONValue].self, from: Data(buffer: response.body))
                return run["id"]?.stringValue.flatMap(UUID.init(uuidString:))
            }
            let runID = try #require(moveRunID)
            try await app.drive(until: { try await PipelineRun.find(runID, on: app.database)?.status.isTerminal == true }, timeout: .seconds(60))
            // check: the version points at its data in the cold tier; the pinned one stayed
            let moved = try #require(try await TrainingSetVersion.find(old.requireID(), on: app.database))
            let movedTask = try await TaskRun.query(on: app.database).filter(\.$run.$id == runID).first()
            #expect(movedTask?.status == .succeeded, Comment(rawValue: movedTask?.reason ?? ""))
            #expect(moved.tier == "cold")
            let coldDirectory = app.app.config.tierDirectory(.cold)
            let path = try #require(URL(string: moved.uri)?.path)
            #expect(path.hasPrefix(coldDirectory + "/"))
            #expect(try DiskUsage.measure(path).bytes == 3 << 20)
            #expect(!FileManager.default.fileExists(atPath: try #require(URL(string: old.uri)?.path)))
            #expect(try await TrainingSetVersion.find(pinned.requireID(), on: app.database)?.tier == "hot")
        }
    }

    @Test func test_tierMove_ofAnotherProjectsVersion_isRefused() async throws {
        try await TestApp.with { app in
            // setup: a version in one project; a task of another reports moving it
            let (user, project) = try await app.owner()
            let (_, otherProject) = try await app.owner()
            let pipeline = try await PipelineService(database: app.database)
                .register(specText: "name: p\ntasks:\n  t: {command: [echo]}\n", projectID: project, userID: user).version
            let run = try await RunService(database: app.database).start(versionID: try pipeline.requireID(), params: [:], userID: user)
            let task = try #require(try await app.tasks(of: run)["t"])
            let version = try await TrainingSetRegistration.register(
                ["content_hash": .string(String(repeating: "d", count: 64)), "uri": .string("file:///data/d"), "row_count": .int(1)],
                provenance: Provenance(projectID: project, userID: user, runID: try run.requireID(), taskID: try task.requireID(), defaultName: "d"),
                on: app.database)
            // act / check
            await #expect(throws: TaskContract.ContractError.self) {
                try await TrainingSetRegistration.applyTierMove(
                    ["id": .string(try version.requireID().uuidString), "uri": .string("file:///elsewhere"), "tier": .string("cold")],
                    projectID: otherProject, on: app.database)
            }
            #expect(try await TrainingSetVersion.find(version.requireID(), on: app.database)?.uri == "file:///data/d")
        }
    }
}
