import FluentKit
import Foundation
import Hummingbird
import TrainplatCore

struct PointerDTO: Encodable, Sendable {
    var versionID: UUID
    var movedBy: UUID
    var reason: String
    var movedAt: Date?

    init(_ pointer: TrainingSetPointer) {
        versionID = pointer.$version.id
        movedBy = pointer.movedBy
        reason = pointer.reason
        movedAt = pointer.createdAt
    }
}

struct CurrentDTO: Encodable, Sendable {
    var current: TrainingSetVersionDTO?
    /// Newest first.
    var history: [PointerDTO]
}

struct BestDTO: Encodable, Sendable {
    var version: TrainingSetVersionDTO
    var reason: String
    var considered: Int
    var rejected: [TrainingSetSelection.Rejection]
}

struct MoveCurrentRequest: Decodable {
    var versionId: UUID
}

/// `/api/v1/projects/:project/training-sets/:name/…`: the best version by criteria, and the
/// movable, audited "current" pointer with rollback.
struct CurrentVersionController {
    let database: any Database
    let access: ProjectAccess
    let audit: AuditLog

    func addRoutes(to projects: RouterGroup<AppRequestContext>) {
        projects.get(":project/training-sets/:name/best", use: best)
        projects.get(":project/training-sets/:name/current", use: current)
        projects.put(":project/training-sets/:name/current", use: move)
        projects.post(":project/training-sets/:name/current/rollback", use: rollback)
    }

    private func trainingSet(_ context: AppRequestContext, _ action: Action) async throws -> (Identity, TrainingSet) {
        let (identity, projectID) = try await access.scope(context, action, .trainingSet)
        let name = context.parameters.get("name") ?? ""
        guard let set = try await TrainingSet.query(on: database).filter(\.$project.$id == projectID).filter(\.$name == name).first() else {
            throw NotFound(resource: "training set", id: name)
        }
        return (identity, set)
    }

    /// `?min_score=&from=&to=&required_checks=a,b&min_minority_share=`.
    @Sendable func best(request: Request, context: AppRequestContext) async throws -> JSONResponse<BestDTO> {
        let (_, set) = try await trainingSet(context, .read)
        let criteria = TrainingSetSelection.Criteria(
            minScore: try request.queryNumber("min_score"), from: try request.queryDate("from"), to: try request.queryDate("to"),
            requiredChecks: (request.uri.queryParameters.get("required_checks") ?? "").split(separator: ",").map(String.init),
            minMinorityShare: try request.queryNumber("min_minority_share"))
        let versions = try await TrainingSetVersion.query(on: database).filter(\.$trainingSet.$id == set.requireID()).all()
        let choice = TrainingSetSelection.best(try versions.map(Self.candidate), criteria: criteria)
        guard let winner = choice.winner, let version = versions.first(where: { $0.id?.uuidString == winner.id }) else {
            let why = choice.rejected.map { "\($0.id): \($0.reasons.joined(separator: "; "))" }.joined(separator: " | ")
            throw Problem(status: .notFound, title: "No version meets the criteria", detail: "\(choice.reason). \(why)")
        }
        return JSONResponse(BestDTO(version: TrainingSetVersionDTO(version), reason: choice.reason, considered: versions.count, rejected: choice.rejected))
    }

    @Sendable func current(request: Request, context: AppRequestContext) async throws -> JSONResponse<CurrentDTO> {
        let (_, set) = try await trainingSet(context, .read)
        return JSONResponse(try await state(of: set))
    }

    /// Points "current" at a version of this training set.
    @Sendable func move(request: Request, context: AppRequestContext) async throws -> JSONResponse<CurrentDTO> {
        let (identity, set) = try await trainingSet(context, .update)
        let body = try await RequestBody.decode(MoveCurrentRequest.self, from: request)
        guard let version = try await TrainingSetVersion.find(body.versionId, on: database), version.$trainingSet.id == set.id else {
            throw Problem(status: .badRequest, title: "Bad request", detail: "field 'version_id': \(body.versionId) is not a version of training set '\(set.name)'")
        }
        return JSONResponse(try await point(set, at: try version.requireID(), by: identity, reason: "moved", action: "training_set.current"))
    }

    /// Points "current" back at the version it pointed to before; appends, never rewrites.
    @Sendable func rollback(request: Request, context: AppRequestContext) async throws -> JSONResponse<CurrentDTO> {
        let (identity, set) = try await trainingSet(context, .update)
        let history = try await TrainingSetPointer.query(on: database).filter(\.$trainingSet.$id == set.requireID())
            .sort(\.$createdAt, .descending).limit(2).all()
        guard history.count == 2 else {
            throw Problem(status: .conflict, title: "Nothing to roll back to", detail: "training set '\(set.name)' has no earlier current version")
        }
        return JSONResponse(try await point(
            set, at: history[1].$version.id, by: identity, reason: "rollback from \(history[0].$version.id)", action: "training_set.rollback"))
    }

    private func point(_ set: TrainingSet, at versionID: UUID, by identity: Identity, reason: String, action: String) async throws -> CurrentDTO {
        try await TrainingSetPointer(trainingSetID: try set.requireID(), versionID: versionID, movedBy: identity.userID, reason: reason)
            .create(on: database)
        try await audit.record(
            actor: identity, action: action, resource: .init(kind: "training_set", id: set.name, projectID: set.$project.id),
            details: ["version_id": .string(versionID.uuidString)])
        return try await state(of: set)
    }

    private func state(of set: TrainingSet) async throws -> CurrentDTO {
        let history = try await TrainingSetPointer.query(on: database).filter(\.$trainingSet.$id == set.requireID())
            .sort(\.$createdAt, .descending).all()
        var current: TrainingSetVersion?
        if let latest = history.first { current = try await TrainingSetVersion.find(latest.$version.id, on: database) }
        return CurrentDTO(current: current.map(TrainingSetVersionDTO.init), history: history.map(PointerDTO.init))
    }

    static func candidate(_ version: TrainingSetVersion) throws -> TrainingSetSelection.Candidate {
        let quality = version.buildConfig["quality"]?.objectValue?["checks"]?.objectValue ?? [:]
        let checks = quality.compactMapValues { check -> Bool? in
            if case .bool(let passed)? = check.objectValue?["passed"] { return passed }
            return nil
        }
        return TrainingSetSelection.Candidate(
            id: try version.requireID().uuidString, score: version.qualityScore, timeStart: version.timeStart, timeEnd: version.timeEnd,
            createdAt: version.createdAt ?? .distantPast, checks: checks,
            minorityShare: quality["label_balance"]?.objectValue?["minority_share"]?.doubleValue)
    }
}
