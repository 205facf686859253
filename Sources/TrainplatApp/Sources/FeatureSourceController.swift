import FluentKit
import Foundation
import Hummingbird
import TrainplatCore

/// `/api/v1/projects/:project/feature-sources`: where snapshots come from, with passwords
/// sealed at rest, and a connection test that runs as a task.
struct FeatureSourceController {
    let database: any Database
    let access: ProjectAccess
    let audit: AuditLog
    let secrets: SecretBox
    let wakeup: Wakeup

    func addRoutes(to projects: RouterGroup<AppRequestContext>) {
        projects.post(":project/feature-sources", use: create)
        projects.get(":project/feature-sources", use: list)
        projects.post(":project/feature-sources/:source/test", use: test)
    }

    @Sendable func create(request: Request, context: AppRequestContext) async throws -> JSONResponse<FeatureSourceDTO> {
        let (identity, projectID) = try await access.scope(context, .create, .featureSource)
        let body = try await RequestBody.decode(CreateFeatureSourceRequest.self, from: request)
        try body.validate()
        guard try await FeatureSource.query(on: database).filter(\.$project.$id == projectID).filter(\.$name == body.name).first() == nil else {
            throw Problem(status: .conflict, title: "Conflict", detail: "feature source '\(body.name)' exists in this project")
        }
        let source = FeatureSource(projectID: projectID, name: body.name, kind: body.kind, host: body.host)
        source.port = body.port
        source.database = body.database
        source.username = body.username
        source.passwordSecret = body.password.map(secrets.seal)
        source.poolSettings = (body.pool ?? [:]).mapValues(JSONValue.int)
        try await source.create(on: database)
        try await audit.record(actor: identity, action: "feature_source.create", resource: .init(kind: "feature_source", id: body.name, projectID: projectID))
        return JSONResponse(FeatureSourceDTO(source), status: .created)
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> JSONResponse<Page<FeatureSourceDTO>> {
        let (_, projectID) = try await access.scope(context, .read, .featureSource)
        let page = try await PageRequest(request).page(FeatureSource.query(on: database).filter(\.$project.$id == projectID).sort(\.$name))
        return JSONResponse(page.map(FeatureSourceDTO.init))
    }

    /// Starts a one-task run of `doris.test_connection`; its outputs carry latency and version.
    @Sendable func test(request: Request, context: AppRequestContext) async throws -> JSONResponse<RunDTO> {
        let (identity, projectID) = try await access.scope(context, .execute, .featureSource)
        let name = context.parameters.get("source") ?? ""
        guard SpecNames.isIdentifier(name),
            try await FeatureSource.query(on: database).filter(\.$project.$id == projectID).filter(\.$name == name).first() != nil
        else { throw NotFound(resource: "feature source", id: name) }
        let spec = """
            name: source-check-\(name)
            tasks:
              check: {uses: doris.test_connection, timeout: 2m, with: {feature_source: \(name)}}
            """
        let version = try await PipelineService(database: database).register(specText: spec, projectID: projectID, userID: identity.userID).version
        let run = try await RunService(database: database, wakeup: wakeup).start(versionID: try version.requireID(), params: [:], userID: identity.userID)
        try await audit.record(actor: identity, action: "feature_source.test", resource: .init(kind: "feature_source", id: name, projectID: projectID))
        return JSONResponse(RunDTO(run, tasks: nil), status: .created)
    }
}
