import FluentKit
import Foundation
import Hummingbird
import TrainplatCore

/// `/api/v1/pipelines`: validation and the pipeline registry.
struct PipelineController {
    let database: any Database
    let access: ProjectAccess
    let audit: AuditLog
    let quotas: StorageQuotas
    let wakeup: Wakeup

    func addRoutes(to group: RouterGroup<AppRequestContext>, projects: RouterGroup<AppRequestContext>) {
        group.post("validate", use: validate)
        group.get(use: list)
        group.get(":id", use: get)
        group.get(":id/diff", use: diff)
        group.post(":id/runs", use: startRun)
        projects.post(":project/pipelines", use: create)
    }

    /// Registers a spec (YAML or JSON body) as a version of the pipeline it names.
    @Sendable func create(request: Request, context: AppRequestContext) async throws -> JSONResponse<PipelineDetailDTO> {
        let identity = try context.requireIdentity()
        let projectID = try Router<AppRequestContext>.uuid("project", in: context, resource: "project")
        try await access.require(identity, .create, .pipeline, in: projectID, id: projectID.uuidString)
        let body = try await request.body.collect(upTo: SpecParser.maxSpecBytes + 1)
        let registered = try await PipelineService(database: database).register(specText: String(buffer: body), projectID: projectID, userID: identity.userID)
        try await audit.record(
            actor: identity, action: registered.created ? "pipeline.version.create" : "pipeline.version.reuse",
            resource: .init(kind: "pipeline", id: registered.pipeline.id?.uuidString, projectID: projectID),
            details: ["version": .int(registered.version.number), "spec_hash": .string(registered.version.specHash)])
        return JSONResponse(
            PipelineDetailDTO(pipeline: PipelineDTO(registered.pipeline), versions: [PipelineVersionDTO(registered.version, includeSpec: false)]),
            status: registered.created ? .created : .ok)
    }

    /// Starts a run of the newest version, or of `version` (a number) when given.
    @Sendable func startRun(request: Request, context: AppRequestContext) async throws -> JSONResponse<RunDTO> {
        let identity = try context.requireIdentity()
        let pipeline = try await findPipeline(context, identity: identity, action: .read)
        let projectID = pipeline.$project.id
        try await access.require(identity, .execute, .run, in: projectID, id: try pipeline.requireID().uuidString)
        let body = try await RequestBody.decode(StartRunRequest.self, from: request)
        let versions = PipelineVersion.query(on: database).filter(\.$pipeline.$id == (try pipeline.requireID()))
        if let number = body.version { versions.filter(\.$number == number) } else { versions.sort(\.$number, .descending) }
        guard let version = try await versions.first() else { throw NotFound(resource: "pipeline version", id: String(body.version ?? 0)) }
        let run = try await RunService(database: database, quotas: quotas, wakeup: wakeup).start(
            versionID: try version.requireID(), params: body.params ?? [:], userID: identity.userID, logicalTime: body.logicalTime ?? Date())
        try await audit.record(actor: identity, action: "run.start", resource: .init(kind: "run", id: run.id?.uuidString, projectID: projectID))
        return JSONResponse(RunDTO(run, tasks: nil), status: .created)
    }

    /// Validates a YAML or JSON spec body without storing anything.
    @Sendable func validate(request: Request, context: AppRequestContext) async throws -> JSONResponse<SpecValidationDTO> {
        _ = try context.requireIdentity()
        let body = try await request.body.collect(upTo: SpecParser.maxSpecBytes + 1)
        let valid = try SpecParser.validate(String(buffer: body), knownPrograms: TaskPrograms.builtIn)
        return JSONResponse(SpecValidationDTO(valid: true, name: valid.spec.name, tasks: valid.spec.tasks.count, specHash: valid.contentHash))
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> JSONResponse<Page<PipelineDTO>> {
        let identity = try context.requireIdentity()
        let columns = Pipeline.queryWithoutConfig(on: database)
        let page = try await access.readable(columns.sort(\.$name), for: identity, project: \.$project.$id, page: try PageRequest(request))
        return JSONResponse(page.map(PipelineDTO.init))
    }

    /// `?from=N&to=M` (default: the newest version against the one before it).
    @Sendable func diff(request: Request, context: AppRequestContext) async throws -> JSONResponse<SpecDiffDTO> {
        let pipeline = try await findPipeline(context, identity: try context.requireIdentity(), action: .read)
        let versions = try await PipelineVersion.query(on: database).filter(\.$pipeline.$id == (try pipeline.requireID())).sort(\.$number).all()
        let to = try request.queryInteger("to", in: 1...Int.max) ?? (versions.last?.number ?? 0)
        let from = try request.queryInteger("from", in: 1...Int.max) ?? (to - 1)
        guard let old = versions.first(where: { $0.number == from }) else { throw NotFound(resource: "pipeline version", id: String(from)) }
        guard let new = versions.first(where: { $0.number == to }) else { throw NotFound(resource: "pipeline version", id: String(to)) }
        let changes = try SpecParser.parse(old.spec, knownPrograms: TaskPrograms.builtIn)
            .changes(to: try SpecParser.parse(new.spec, knownPrograms: TaskPrograms.builtIn))
        return JSONResponse(SpecDiffDTO(from: from, to: to, fromHash: old.specHash, toHash: new.specHash, changes: changes))
    }

    @Sendable func get(request: Request, context: AppRequestContext) async throws -> JSONResponse<PipelineDetailDTO> {
        let pipeline = try await findPipeline(context, identity: try context.requireIdentity(), action: .read)
        let id = try pipeline.requireID()
        let versions = try await PipelineVersion.query(on: database).filter(\.$pipeline.$id == id).sort(\.$number).all()
        return JSONResponse(PipelineDetailDTO(pipeline: PipelineDTO(pipeline), versions: versions.map { PipelineVersionDTO($0, includeSpec: true) }))
    }

    private func findPipeline(_ context: AppRequestContext, identity: Identity, action: Action) async throws -> Pipeline {
        let id = try Router<AppRequestContext>.uuid("id", in: context, resource: "pipeline")
        guard let pipeline = try await Pipeline.findWithoutConfig(id, on: database) else { throw NotFound(resource: "pipeline", id: id.uuidString) }
        try await access.require(identity, action, .pipeline, in: pipeline.$project.id, id: id.uuidString)
        return pipeline
    }
}
