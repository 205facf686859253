import FluentKit
import Foundation
import Hummingbird
import TrainplatCore

struct TrainingSetVersionDTO: Encodable, Sendable {
    var id: UUID?
    var projectID: UUID
    var name: String
    var versionID: String
    var rowCount: Int
    var uri: String
    var schema: JSONObject
    var dorisQueryConfig: JSONObject
    var buildConfig: JSONObject
    var qualityScore: Double?
    var timeStart: Date?
    var timeEnd: Date?
    var tier: String
    var pinned: Bool
    var pipelineRunID: UUID?
    var createdAt: Date?

    init(_ version: TrainingSetVersion) {
        id = version.id
        projectID = version.$project.id
        name = version.name
        versionID = version.versionID
        rowCount = version.rowCount
        uri = version.uri
        schema = version.dataSchema
        dorisQueryConfig = version.dorisQueryConfig
        buildConfig = version.buildConfig
        qualityScore = version.qualityScore
        timeStart = version.timeStart
        timeEnd = version.timeEnd
        tier = version.tier
        pinned = version.pinned ?? false
        pipelineRunID = version.$run.id
        createdAt = version.createdAt
    }
}

/// `/api/v1/training-set-versions`: the registry of immutable training-set versions.
struct PinRequest: Decodable {
    var pinned: Bool
}

struct TrainingSetController {
    let database: any Database
    let access: ProjectAccess
    let audit: AuditLog

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get(use: list)
        group.get(":id", use: get)
        group.get(":id/lineage", use: lineage)
        group.put(":id/pin", use: pin)
    }

    /// Pinned versions stay in their storage tier whatever the lifecycle rules say.
    @Sendable func pin(request: Request, context: AppRequestContext) async throws -> JSONResponse<TrainingSetVersionDTO> {
        let identity = try context.requireIdentity()
        let version = try await find(context)
        try await access.require(identity, .update, .trainingSet, in: version.$project.id, id: try version.requireID().uuidString)
        let body = try await RequestBody.decode(PinRequest.self, from: request)
        version.pinned = body.pinned
        try await version.update(on: database)
        try await audit.record(
            actor: identity, action: body.pinned ? "training_set_version.pin" : "training_set_version.unpin",
            resource: .init(kind: "training_set_version", id: try version.requireID().uuidString, projectID: version.$project.id))
        return JSONResponse(TrainingSetVersionDTO(version))
    }

    @Sendable func lineage(request: Request, context: AppRequestContext) async throws -> JSONResponse<LineageDTO> {
        let version = try await find(context)
        let models = try await ModelVersion.query(on: database).filter(\.$trainingSetVersion.$id == version.requireID()).all(\.$id)
        return JSONResponse(LineageDTO(
            producedBy: try await Lineage.producer(runID: version.$run.id, taskID: version.$task.id, on: database),
            trainingSetVersion: version.versionID, parents: [], models: models))
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> JSONResponse<Page<TrainingSetVersionDTO>> {
        let page = try await access.newest(
            TrainingSetVersion.self, for: try context.requireIdentity(), project: \.$project.$id, createdAt: \.$createdAt, page: try PageRequest(request))
        return JSONResponse(page.map(TrainingSetVersionDTO.init))
    }

    /// By row id or by content hash (`version_id`), among the caller's projects.
    @Sendable func get(request: Request, context: AppRequestContext) async throws -> JSONResponse<TrainingSetVersionDTO> {
        JSONResponse(TrainingSetVersionDTO(try await find(context)))
    }

    private func find(_ context: AppRequestContext) async throws -> TrainingSetVersion {
        let identity = try context.requireIdentity()
        let key = context.parameters.get("id") ?? ""
        let query = TrainingSetVersion.query(on: database)
        if let id = UUID(uuidString: key) { query.filter(\.$id == id) } else { query.filter(\.$versionID == key) }
        // The same content may be a version in several projects: look only in the caller's.
        if let projects = try await access.readableProjects(identity) { query.filter(\.$project.$id ~~ projects) }
        guard let version = try await query.first() else { throw NotFound(resource: "training-set version", id: key) }
        return version
    }
}
