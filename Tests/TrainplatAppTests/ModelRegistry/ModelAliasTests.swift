import FluentKit
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import TrainplatApp
import TrainplatCore

@Suite("Model aliases and promotion gates")
struct ModelAliasTests {
    private func register(_ app: TestApp, project: UUID, user: UUID, hash: String, newest: Double, earlier: Double, parent: String? = nil) async throws -> ModelVersion {
        let spec = "name: m\ntasks:\n  t: {command: [echo]}\n"
        let version = try await PipelineService(database: app.database).register(specText: spec, projectID: project, userID: user).version
        let run = try await RunService(database: app.database).start(versionID: try version.requireID(), params: [:], userID: user)
        let task = try #require(try await app.tasks(of: run)["t"])
        var fields: JSONObject = [
            "artifact_hash": .string(hash), "artifact_uri": .string("file:///\(hash)"), "model_name": .string("ranker"),
            "metrics": .object(["evaluation": .object(["auc": .double(newest), "earlier": .object(["auc": .double(earlier)])])]),
        ]
        if let parent { fields["parent"] = .object(["artifact_hash": .string(parent)]) }
        let provenance = Provenance(projectID: project, userID: user, runID: try run.requireID(), taskID: try task.requireID(), defaultName: "x")
        return try await ModelVersionRegistration.register(fields, provenance: provenance, on: app.database)
    }

    @Test func test_move_gateKeepsTheOldAliasAndSaysWhy_forceAndRollbackMoveIt() async throws {
        try await TestApp.with { app in
            // setup: v1, then v2 (child of v1) that forgets too much on earlier windows
            let owner = try await app.user("maint")
            let project = try await app.project(members: [(owner, .maintainer)])
            let (projectID, userID) = (try project.requireID(), try owner.requireID())
            let v1 = try await register(app, project: projectID, user: userID, hash: "h1", newest: 0.70, earlier: 0.75)
            let v2 = try await register(app, project: projectID, user: userID, hash: "h2", newest: 0.80, earlier: 0.60, parent: "h1")
            #expect(v2.$parent.id == v1.id)
            let headers = try app.headers(for: owner)
            let base = "/api/v1/projects/\(projectID)/models/ranker"
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                let gate = #"{"rules": [{"metric": "evaluation.earlier.auc", "kind": "drops_at_most", "threshold": 0.02}]}"#
                let setGate = try await client.execute(uri: "\(base)/gate", method: .put, headers: headers, body: ByteBuffer(string: gate))
                // act
                let first = try await client.execute(uri: "\(base)/aliases/production", method: .post, headers: headers, body: ByteBuffer(string: #"{"version": 1}"#))
                let refused = try await client.execute(uri: "\(base)/aliases/production", method: .post, headers: headers, body: ByteBuffer(string: #"{"version": 2}"#))
                let afterRefusal = try await client.execute(uri: "\(base)/aliases", method: .get, headers: headers)
                let forced = try await client.execute(uri: "\(base)/aliases/production", method: .post, headers: headers, body: ByteBuffer(string: #"{"version": 2, "force": true}"#))
                let rolledBack = try await client.execute(uri: "\(base)/aliases/production", method: .post, headers: headers, body: ByteBuffer(string: #"{"version": 1}"#))
                // check
                #expect(setGate.status == .ok)
                #expect(first.status == .ok)
                #expect(refused.status == .conflict)
                #expect(String(buffer: refused.body).contains("production stays on v1: evaluation.earlier.auc dropped from 0.7500 to 0.6000"))
                #expect(String(buffer: afterRefusal.body).contains(try #require(v1.id).uuidString))
                #expect(forced.status == .ok)
                #expect(rolledBack.status == .ok)
            }
            let moves = try await AuditEvent.query(on: app.database).filter(\.$action == "model.alias.move").all().map(\.outcome)
            #expect(moves.sorted() == ["gate_failed", "success", "success", "success"])
        }
    }

    @Test func test_register_unknownParent_isAContractError() async throws {
        try await TestApp.with { app in
            let owner = try await app.user()
            let project = try await app.project(members: [(owner, .owner)])
            await #expect(throws: TaskContract.ContractError.self) {
                _ = try await register(app, project: try project.requireID(), user: try owner.requireID(), hash: "h9", newest: 0.5, earlier: 0.5, parent: "nope")
            }
        }
    }

    /// Runs a one-task pipeline as `user` whose outputs register model `ranker` with artifact
    /// `hash` and ask to promote it to production; returns the task when the run has ended.
    private func promoteThroughATask(_ app: TestApp, project: UUID, user: UUID, hash: String, earlier: Double) async throws -> TaskRun {
        let outputs = #"{"outputs": {}, "model_version": {"artifact_hash": "\#(hash)", "artifact_uri": "file:///\#(hash)", "model_name": "ranker", "#
            + #""metrics": {"evaluation": {"auc": 0.9, "earlier": {"auc": \#(earlier)}}}}, "model_promotion": {"artifact_hash": "\#(hash)"}}"#
        let spec = "name: daily\ntasks:\n  promote:\n    command:\n      - sh\n      - -c\n      - |\n        cat > outputs.json <<'EOF'\n        \(outputs)\n        EOF\n"
        let version = try await PipelineService(database: app.database).register(specText: spec, projectID: project, userID: user).version
        let run = try await RunService(database: app.database).start(versionID: try version.requireID(), params: [:], userID: user)
        try await app.drive(until: { try await PipelineRun.find(run.requireID(), on: app.database)?.status.isTerminal == true }, timeout: .seconds(60))
        return try #require(try await app.tasks(of: run)["promote"])
    }

    private func production(_ app: TestApp, project: UUID) async throws -> Int? {
        guard let alias = try await ModelAlias.query(on: app.database).filter(\.$project.$id == project).filter(\.$alias == "production").first() else { return nil }
        return try await ModelVersion.find(alias.$version.id, on: app.database)?.number
    }

    @Test func test_taskPromotion_movesThroughTheGate_refusalKeepsTheAliasAndSucceeds_membersMayNotPromote() async throws {
        try await TestApp.with { app in
            // setup: production on v1; a gate that allows losing 0.02 on earlier windows
            let maintainer = try await app.user("maint")
            let member = try await app.user("member")
            let project = try await app.project(members: [(maintainer, .maintainer), (member, .member)])
            let (projectID, userID) = (try project.requireID(), try maintainer.requireID())
            let v1 = try await register(app, project: projectID, user: userID, hash: "h1", newest: 0.70, earlier: 0.75)
            try await ModelAlias(projectID: projectID, modelName: "ranker", alias: "production", versionID: try v1.requireID()).create(on: app.database)
            let rule = GateRule(metric: "evaluation.earlier.auc", kind: .dropsAtMost, threshold: 0.02)
            try await ModelGate(projectID: projectID, modelName: "ranker", gate: GateRules(rules: [rule])).create(on: app.database)
            // act
            let forgetful = try await promoteThroughATask(app, project: projectID, user: userID, hash: "h2", earlier: 0.60)
            let afterRefusal = try await production(app, project: projectID)
            let good = try await promoteThroughATask(app, project: projectID, user: userID, hash: "h3", earlier: 0.74)
            let afterPass = try await production(app, project: projectID)
            let byMember = try await promoteThroughATask(app, project: projectID, user: try member.requireID(), hash: "h4", earlier: 0.75)
            // check
            #expect(forgetful.status == .succeeded)
            let refusal = forgetful.outputs?["promotion"]?.objectValue
            #expect(refusal?["moved"] == .bool(false))
            #expect(refusal?["reasons"]?.arrayValue?.first?.stringValue?.contains("dropped from 0.7500 to 0.6000") == true)
            #expect(afterRefusal == 1)
            #expect(good.status == .succeeded && good.outputs?["promotion"]?.objectValue?["moved"] == .bool(true))
            #expect(afterPass == 3)
            #expect(byMember.status == .failed && byMember.reason?.contains("maintainer needed") == true)
            #expect(try await production(app, project: projectID) == 3)
            let moves = try await AuditEvent.query(on: app.database).filter(\.$action == "model.alias.move").all()
            #expect(moves.map(\.outcome).sorted() == ["gate_failed", "success"])
            #expect(moves.allSatisfy { $0.$actor.id == userID })
        }
    }
}
