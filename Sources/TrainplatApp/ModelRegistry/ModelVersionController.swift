import FluentKit
import Foundation
import Hummingbird
import TrainplatCore

struct ModelVersionDTO: Encodable, Sendable {
    var id: UUID?
    var projectID: UUID
    var modelName: String
    var number: Int
    var parentID: UUID?
    var trainingSetVersionID: UUID?
    var artifactURI: String
    var artifactHash: String
    var metrics: JSONObject
    var status: String
    var pipelineRunID: UUID?
    var createdAt: Date?

    init(_ version: ModelVersion) {
        id = version.id
        projectID = version.$project.id
        modelName = version.modelName
        number = version.number
        parentID = version.$parent.id
        trainingSetVersionID = version.$trainingSetVersion.id
        artifactURI = version.artifactURI
        artifactHash = version.artifactHash
        metrics = version.metrics
        status = version.status
        pipelineRunID = version.$run.id
        createdAt = version.createdAt
    }
}

/// `/api/v1/model-versions`: the model registry.
struct ModelVersionController {
    let database: any Database
    let access: ProjectAccess

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get(use: list)
        group.get(":id", use: get)
        group.get(":id/lineage", use: lineage)
    }

    @Sendable func lineage(request: Request, context: AppRequestContext) async throws -> JSONResponse<LineageDTO> {
        let version = try await find(context)
        var trainingSet: TrainingSetVersion?
        if let id = version.$trainingSetVersion.id { trainingSet = try await TrainingSetVersion.find(id, on: database) }
        return JSONResponse(LineageDTO(
            producedBy: try await Lineage.producer(runID: version.$run.id, taskID: version.$task.id, on: database),
            trainingSetVersion: trainingSet?.versionID, parents: try await Lineage.parents(of: version, on: database), models: []))
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> JSONResponse<Page<ModelVersionDTO>> {
        let page = try await access.newest(
            ModelVersion.self, for: try context.requireIdentity(), project: \.$project.$id, createdAt: \.$createdAt, page: try PageRequest(request))
        return JSONResponse(page.map(ModelVersionDTO.init))
    }

    @Sendable func get(request: Request, context: AppRequestContext) async throws -> JSONResponse<ModelVersionDTO> {
        JSONResponse(ModelVersionDTO(try await find(context)))
    }

    private func find(_ context: AppRequestContext) async throws -> ModelVersion {
        // Who first: an anonymous caller gets 401 whether or not the version exists.
        let identity = try context.requireIdentity()
        let id = try Router<AppRequestContext>.uuid("id", in: context, resource: "model version")
        guard let version = try await ModelVersion.find(id, on: database) else { throw NotFound(resource: "model version", id: id.uuidString) }
        try await access.require(identity, .read, .modelVersion, in: version.$project.id, id: id.uuidString)
        return version
    }
}
