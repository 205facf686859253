import FluentKit
import Foundation
import Hummingbird
import TrainplatCore

/// `/api/v1/pipelines`: validation and the pipeline registry.
struct PipelineController {
    let database: any Database

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("validate", use: validate)
        group.get(use: list)
        group.get(":id", use: get)
    }

    /// Validates a YAML or JSON spec body without storing anything.
    @Sendable func validate(request: Request, context: AppRequestContext) async throws -> JSONResponse<SpecValidationDTO> {
        let body = try await request.body.collect(upTo: SpecParser.maxSpecBytes + 1)
        let spec = try SpecParser.parse(String(buffer: body), knownPrograms: TaskPrograms.builtIn)
        return JSONResponse(SpecValidationDTO(valid: true, name: spec.name, tasks: spec.tasks.count, specHash: spec.contentHash()))
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> JSONResponse<Page<PipelineDTO>> {
        let pipelines = try await Pipeline.query(on: database).sort(\.$name).all()
        return JSONResponse(Page(items: pipelines.map(PipelineDTO.init), total: pipelines.count))
    }

    @Sendable func get(request: Request, context: AppRequestContext) async throws -> JSONResponse<PipelineDetailDTO> {
        let id = try Router<AppRequestContext>.uuid("id", in: context, resource: "pipeline")
        guard let pipeline = try await Pipeline.find(id, on: database) else { throw NotFound(resource: "pipeline", id: id.uuidString) }
        let versions = try await PipelineVersion.query(on: database).filter(\.$pipeline.$id == id).sort(\.$number).all()
        return JSONResponse(PipelineDetailDTO(pipeline: PipelineDTO(pipeline), versions: versions.map { PipelineVersionDTO($0, includeSpec: true) }))
    }
}
