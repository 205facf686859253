import FluentKit
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import TrainplatApp
import TrainplatCore

/// Walks every registered API route, so a new route is covered the day it is added:
/// anonymous callers get 401, callers from another project get 404 for this project's
/// resources (never 403: ids must not leak) and see none of them in lists, and viewers may
/// not write.
@Suite("Tenant isolation over the whole route table")
struct IsolationTests {
    /// Project A with one of everything, and the people around it.
    struct World {
        var owner: User
        var viewer: User
        var outsider: User
        var project: UUID
        var parameters: [String: String]
        var secrets: [String]
    }

    private func world(_ app: TestApp) async throws -> World {
        let owner = try await app.user("owner")
        let viewer = try await app.user("viewer")
        let outsider = try await app.user("outsider")
        let project = try await app.project("alpha", members: [(owner, .owner), (viewer, .viewer)])
        _ = try await app.project("beta", members: [(outsider, .owner)])
        let projectID = try project.requireID()
        let spec = "name: iso\ntasks:\n  step: {command: [sh, -c, \"echo '{}' > outputs.json\"]}\n"
        let registered = try await PipelineService(database: app.database).register(specText: spec, projectID: projectID, userID: try owner.requireID())
        let run = try await RunService(database: app.database).start(versionID: try registered.version.requireID(), params: [:], userID: try owner.requireID())
        let provenance = Provenance(projectID: projectID, userID: try owner.requireID(), runID: try run.requireID(), taskID: try #require(try await app.tasks(of: run)["step"]).requireID(), defaultName: "iso")
        let trainingSet = try await TrainingSetRegistration.register(
            ["content_hash": .string(String(repeating: "a", count: 64)), "uri": .string("file:///x"), "row_count": .int(1)], provenance: provenance, on: app.database)
        let model = try await ModelVersionRegistration.register(
            ["artifact_hash": .string(String(repeating: "b", count: 64)), "artifact_uri": .string("file:///m")], provenance: provenance, on: app.database)
        let mount = StorageMount(
            spec: try MountParser.parse(entry: "cfg(configmap):/etc/cfg"), userID: try owner.requireID(), projectID: projectID,
            config: ["data": .object(["a": .string("1")])])
        try await mount.create(on: app.database)
        let key = try await app.app.auth.createAPIKey(userID: try owner.requireID(), projectID: projectID, name: "k", lifetimeDays: 1)
        return World(
            owner: owner, viewer: viewer, outsider: outsider, project: projectID,
            parameters: [
                "pipelines": try registered.pipeline.requireID().uuidString, "runs": try run.requireID().uuidString,
                "training-set-versions": trainingSet.versionID, "model-versions": try model.requireID().uuidString,
                "api-keys": try key.key.requireID().uuidString, "projects": projectID.uuidString, "task": "step",
                "models": model.modelName, "aliases": "production", "feature-sources": "warehouse",
                "mounts": try mount.requireID().uuidString,
            ],
            secrets: [
                projectID.uuidString, try run.requireID().uuidString, trainingSet.versionID, try registered.pipeline.requireID().uuidString,
                try mount.requireID().uuidString,
            ].map { $0.lowercased() })
    }

    /// The route's path with its parameters filled from project A's resources.
    private func concrete(_ path: String, _ world: World) -> String {
        let parts = path.split(separator: "/").map(String.init)
        return "/" + parts.enumerated().map { index, part in
            guard part.hasPrefix(":") || part.hasPrefix("{") else { return part }
            let name = part.trimmingCharacters(in: CharacterSet(charactersIn: ":{}"))
            if name == "task" { return world.parameters["task"] ?? "" }
            return world.parameters[parts[index - 1]] ?? world.parameters["projects"] ?? ""
        }.joined(separator: "/")
    }

    @Test func test_everyRoute_enforcesAuthenticationAndTenantIsolation() async throws {
        try await TestApp.with { app in
            let world = try await world(app)
            let router = app.app.buildRouter()
            // (method, path) pairs: the route descriptions themselves are not Sendable.
            let routes = router.routes.map { ($0.method, $0.path.description) }
                // Login, refresh and logout take their credential in the body, not the header.
                .filter { $0.1.hasPrefix("/api/v1") && !["/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout"].contains($0.1) }
            #expect(routes.count >= 15, "the route table looks incomplete: \(routes)")
            try await Application(router: router).test(.router) { client in
                for (method, template) in routes {
                    let path = concrete(template, world)
                    let hasParameters = path != template
                    let label = "\(method) \(template)"
                    let body = ByteBuffer(string: "{}")
                    // anonymous
                    let anonymous = try await client.execute(uri: path, method: method, body: body)
                    #expect(anonymous.status == .unauthorized, "\(label) anonymous: \(anonymous.status)")
                    // another project's member
                    let outsider = try await client.execute(uri: path, method: method, headers: try app.headers(for: world.outsider), body: body)
                    if template.hasPrefix("/api/v1/users") {
                        // Admin-only and outside every project: nothing to hide, so a plain 403.
                        #expect(outsider.status == .forbidden, "\(label) non-admin: \(outsider.status)")
                    } else if hasParameters {
                        #expect(outsider.status == .notFound, "\(label) outsider: \(outsider.status)")
                    } else {
                        let text = String(buffer: outsider.body).lowercased()
                        #expect(outsider.status != .internalServerError, "\(label) outsider: 500")
                        #expect(!world.secrets.contains { text.contains($0) }, "\(label) leaks project alpha to an outsider")
                    }
                    // a viewer may read but never write
                    guard hasParameters, method != .get, !path.hasPrefix("/api/v1/api-keys") else { continue }
                    let viewer = try await client.execute(uri: path, method: method, headers: try app.headers(for: world.viewer), body: body)
                    #expect(viewer.status == .forbidden, "\(label) viewer: \(viewer.status)")
                }
            }
        }
    }
}
