import FluentKit
import Foundation
import Hummingbird
import TrainplatCore

/// A project's lifecycle rules (`[LifecycleRule]` under the key `rules`).
final class StorageLifecycle: Model, @unchecked Sendable {
    static let schema = "storage_lifecycles"

    @ID(key: .id) var id: UUID?
    @Parent(key: "project_id") var project: Project
    @Field(key: "rules") var rules: JSONObject
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    init(projectID: UUID) {
        self.$project.id = projectID
        self.rules = [:]
    }

    var lifecycleRules: [LifecycleRule] {
        (rules["rules"]?.arrayValue ?? []).compactMap { rule in
            guard let days = rule.objectValue?["unused_days"]?.intValue, let tier = rule.objectValue?["to"]?.stringValue.flatMap(StorageTier.init)
            else { return nil }
            return LifecycleRule(unusedDays: days, to: tier)
        }
    }
}

/// The dry-run plan of a project's lifecycle: which training-set versions move where, the
/// bytes moved and the monthly cost saved under the configured prices.
struct TieringPlan: Encodable, Sendable {
    var rules: [LifecycleRule]
    var prices: [String: Double]
    var moves: [TierMove]
    var bytesMoved: Int64
    var monthlySaving: Double
}

struct TieringService: Sendable {
    let database: any Database
    let config: AppConfig
    var wakeup: Wakeup? = nil

    func rules(projectID: UUID) async throws -> [LifecycleRule] {
        try await StorageLifecycle.query(on: database).filter(\.$project.$id == projectID).first()?.lifecycleRules ?? []
    }

    func plan(projectID: UUID, now: Date = Date()) async throws -> TieringPlan {
        let rules = try await rules(projectID: projectID)
        let moves = TieringPlanner.plan(try await candidates(projectID: projectID), rules: rules, prices: config.storage.tierPrices, now: now)
        return TieringPlan(
            rules: rules, prices: Dictionary(uniqueKeysWithValues: config.storage.tierPrices.perGiBMonth.map { ($0.key.rawValue, $0.value) }),
            moves: moves, bytesMoved: moves.reduce(0) { $0 + $1.bytes }, monthlySaving: moves.reduce(0) { $0 + $1.monthlySaving })
    }

    /// Every version with local data; last used = its creation or the newest model trained on it.
    private func candidates(projectID: UUID) async throws -> [TieringCandidate] {
        let versions = try await TrainingSetVersion.query(on: database).filter(\.$project.$id == projectID).all()
        // One read of the project's model versions (three columns), not a query per version.
        let trainedOn = try await ModelVersion.query(on: database).filter(\.$project.$id == projectID)
            .field(\.$id).field(\.$trainingSetVersion.$id).field(\.$createdAt).all()
        let lastTrained = trainedOn.reduce(into: [UUID: Date]()) { newest, model in
            guard let setID = model.$trainingSetVersion.id, let created = model.createdAt else { return }
            newest[setID] = max(newest[setID] ?? .distantPast, created)
        }
        var candidates: [TieringCandidate] = []
        for version in versions {
            guard let path = URL(string: version.uri).flatMap({ $0.isFileURL ? $0.path : nil }), let tier = StorageTier(rawValue: version.tier)
            else { continue }
            let newestModel = lastTrained[try version.requireID()]
            candidates.append(TieringCandidate(
                id: try version.requireID().uuidString, tier: tier, bytes: try DiskUsage.measure(path).bytes,
                lastUsed: max(version.createdAt ?? .distantPast, newestModel ?? .distantPast), pinned: version.pinned ?? false))
        }
        return candidates
    }

    /// The move as a task: a one-task run of `storage.move_tier`, whose outputs
    /// (`tier_moves`) re-point each version's `uri` and `tier` when it succeeds.
    func startMove(_ plan: TieringPlan, projectID: UUID, userID: UUID) async throws -> PipelineRun {
        var moves: [JSONValue] = []
        for move in plan.moves {
            guard let id = UUID(uuidString: move.id), let version = try await TrainingSetVersion.find(id, on: database) else { continue }
            moves.append(.object([
                "id": .string(move.id), "uri": .string(version.uri), "to": .string(move.to.rawValue),
                "directory": .string("\(config.tierDirectory(move.to))/\(projectID.uuidString.lowercased())/\(version.versionID)"),
            ]))
        }
        let spec = JSONValue.object([
            "name": .string("storage-tiering"),
            "tasks": .object(["move": .object(["uses": .string("storage.move_tier"), "with": .object(["moves": .array(moves)])])]),
        ]).canonicalJSON()
        let version = try await PipelineService(database: database).register(specText: spec, projectID: projectID, userID: userID).version
        return try await RunService(database: database, wakeup: wakeup).start(versionID: try version.requireID(), params: [:], userID: userID)
    }
}

struct LifecycleRequest: Decodable {
    struct Rule: Decodable {
        var unusedDays: Int
        var to: String
    }

    var rules: [Rule]
}

/// `/api/v1/projects/:project/storage/lifecycle` and `…/storage/tiering`: rules, the
/// dry-run report, and the move as a task.
struct TieringController {
    let database: any Database
    let access: ProjectAccess
    let audit: AuditLog
    let service: TieringService

    func addRoutes(to projects: RouterGroup<AppRequestContext>) {
        projects.get(":project/storage/lifecycle", use: getRules)
        projects.put(":project/storage/lifecycle", use: setRules)
        projects.get(":project/storage/tiering", use: report)
        projects.post(":project/storage/tiering", use: move)
    }

    @Sendable func getRules(request: Request, context: AppRequestContext) async throws -> JSONResponse<[LifecycleRule]> {
        let (_, projectID) = try await access.scope(context, .read, .project)
        return JSONResponse(try await service.rules(projectID: projectID))
    }

    /// Project owners set the rules; they replace the previous ones.
    @Sendable func setRules(request: Request, context: AppRequestContext) async throws -> JSONResponse<[LifecycleRule]> {
        let (identity, projectID) = try await access.scope(context, .update, .project)
        let body = try await RequestBody.decode(LifecycleRequest.self, from: request)
        var rules: [LifecycleRule] = []
        for (index, rule) in body.rules.enumerated() {
            guard let tier = StorageTier(rawValue: rule.to) else {
                throw Problem(status: .badRequest, title: "Bad request", detail: "field 'rules[\(index)].to' must be warm or cold, got '\(rule.to)'")
            }
            rules.append(LifecycleRule(unusedDays: rule.unusedDays, to: tier))
        }
        do {
            try LifecycleRule.check(rules)
        } catch {
            throw Problem(status: .unprocessableContent, title: "Invalid lifecycle rules", detail: error.message)
        }
        let lifecycle = try await StorageLifecycle.query(on: database).filter(\.$project.$id == projectID).first() ?? StorageLifecycle(projectID: projectID)
        lifecycle.rules = ["rules": .array(rules.map { .object(["unused_days": .int($0.unusedDays), "to": .string($0.to.rawValue)]) })]
        try await lifecycle.save(on: database)
        try await audit.record(
            actor: identity, action: "storage.lifecycle", resource: .init(kind: "project", id: projectID.uuidString, projectID: projectID),
            details: lifecycle.rules)
        return JSONResponse(rules)
    }

    @Sendable func report(request: Request, context: AppRequestContext) async throws -> JSONResponse<TieringPlan> {
        let (_, projectID) = try await access.scope(context, .read, .trainingSet)
        return JSONResponse(try await service.plan(projectID: projectID))
    }

    /// Starts the planned moves as a run; 409 when nothing is due.
    @Sendable func move(request: Request, context: AppRequestContext) async throws -> JSONResponse<RunDTO> {
        let (identity, projectID) = try await access.scope(context, .update, .trainingSet)
        let plan = try await service.plan(projectID: projectID)
        guard !plan.moves.isEmpty else {
            throw Problem(status: .conflict, title: "Nothing to move", detail: "no training-set version is due to move under the project's lifecycle rules")
        }
        let run = try await service.startMove(plan, projectID: projectID, userID: identity.userID)
        try await audit.record(
            actor: identity, action: "storage.tiering", resource: .init(kind: "run", id: run.id?.uuidString, projectID: projectID),
            details: ["versions": .int(plan.moves.count), "bytes": .int(Int(plan.bytesMoved))])
        return JSONResponse(RunDTO(run, tasks: nil), status: .created)
    }
}
