import FluentKit
import Foundation
import Hummingbird
import TrainplatCore

struct ModelAliasDTO: Encodable, Sendable {
    var modelName: String
    var alias: String
    var modelVersionID: UUID
    var updatedAt: Date?
}

struct MoveAliasRequest: Decodable {
    /// The version number to point at.
    var version: Int
    /// Skip the gate (audited); for rollbacks and emergencies.
    var force: Bool?
}

/// `/api/v1/projects/:project/models/:model/…`: aliases (`staging`, `production`) and the
/// promotion gate. A move that fails the gate keeps the old alias and says why (409).
struct ModelAliasController {
    let database: any Database
    let access: ProjectAccess
    let audit: AuditLog

    func addRoutes(to projects: RouterGroup<AppRequestContext>) {
        projects.get(":project/models/:model/aliases", use: aliases)
        projects.post(":project/models/:model/aliases/:alias", use: move)
        projects.get(":project/models/:model/gate", use: gate)
        projects.put(":project/models/:model/gate", use: setGate)
    }

    private func scope(_ context: AppRequestContext, _ action: Action) async throws -> (Identity, UUID, String) {
        let (identity, projectID) = try await access.scope(context, action, .modelVersion)
        return (identity, projectID, context.parameters.get("model") ?? "")
    }

    @Sendable func aliases(request: Request, context: AppRequestContext) async throws -> JSONResponse<[ModelAliasDTO]> {
        let (_, projectID, model) = try await scope(context, .read)
        let aliases = try await ModelAlias.query(on: database).filter(\.$project.$id == projectID).filter(\.$modelName == model).sort(\.$alias).all()
        return JSONResponse(aliases.map { ModelAliasDTO(modelName: $0.modelName, alias: $0.alias, modelVersionID: $0.$version.id, updatedAt: $0.updatedAt) })
    }

    @Sendable func gate(request: Request, context: AppRequestContext) async throws -> JSONResponse<GateRules> {
        let (_, projectID, model) = try await scope(context, .read)
        let gate = try await ModelGate.query(on: database).filter(\.$project.$id == projectID).filter(\.$modelName == model).first()
        return JSONResponse(gate?.gate ?? GateRules(rules: []))
    }

    @Sendable func setGate(request: Request, context: AppRequestContext) async throws -> JSONResponse<GateRules> {
        let (identity, projectID, model) = try await scope(context, .update)
        let rules = try await RequestBody.decode(GateRules.self, from: request)
        let gate = try await ModelGate.query(on: database).filter(\.$project.$id == projectID).filter(\.$modelName == model).first()
            ?? ModelGate(projectID: projectID, modelName: model, gate: rules)
        gate.gate = rules
        try await gate.save(on: database)
        try await audit.record(
            actor: identity, action: "model.gate.set", resource: .init(kind: "model", id: model, projectID: projectID),
            details: ["rules": .int(rules.rules.count)])
        return JSONResponse(rules)
    }

    @Sendable func move(request: Request, context: AppRequestContext) async throws -> JSONResponse<ModelAliasDTO> {
        let (identity, projectID, model) = try await scope(context, .update)
        let aliasName = context.parameters.get("alias") ?? ""
        guard SpecNames.isIdentifier(aliasName) else { throw Problem(status: .badRequest, title: "Bad request", detail: "alias '\(aliasName)' is not a valid name") }
        let body = try await RequestBody.decode(MoveAliasRequest.self, from: request)
        guard let candidate = try await ModelVersion.query(on: database).filter(\.$project.$id == projectID)
            .filter(\.$modelName == model).filter(\.$number == body.version).first()
        else { throw NotFound(resource: "model version", id: "\(model) v\(body.version)") }
        let outcome = try await ModelPromotion(database: database, audit: audit)
            .promote(candidate, to: aliasName, force: body.force == true, actorID: identity.userID)
        guard outcome.moved else { throw Problem(status: .conflict, title: "Promotion gate failed", detail: outcome.refusal) }
        return JSONResponse(ModelAliasDTO(modelName: model, alias: aliasName, modelVersionID: try candidate.requireID(), updatedAt: outcome.updatedAt))
    }
}
