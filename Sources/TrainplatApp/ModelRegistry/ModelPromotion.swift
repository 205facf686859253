import FluentKit
import Foundation
import TrainplatCore

/// Moves an alias (`staging`, `production`) of a model to one of its versions through the
/// model's promotion gate. One path for a person (`POST …/aliases/:alias`) and for a
/// pipeline (a task's `model_promotion` output): a refusal keeps the alias where it was,
/// says why, and is audited like a move.
struct ModelPromotion: Sendable {
    let database: any Database
    let audit: AuditLog

    struct Outcome: Sendable {
        var moved: Bool
        var alias: String
        var version: Int
        /// The version the alias pointed at before (nil: it did not exist).
        var previous: Int?
        /// Why the gate refused; empty when the alias moved.
        var failures: [String]
        var updatedAt: Date?

        /// `production stays on v1: …`, for problems and task outputs.
        var refusal: String {
            "\(alias) stays on \(previous.map { "v\($0)" } ?? "nothing"): " + failures.joined(separator: "; ")
        }

        var json: JSONValue {
            .object([
                "alias": .string(alias), "moved": .bool(moved), "version": .int(version),
                "previous_version": previous.map(JSONValue.int) ?? .null,
                "reasons": .array(failures.map(JSONValue.string)),
            ])
        }
    }

    func promote(_ candidate: ModelVersion, to aliasName: String, force: Bool, actorID: UUID?) async throws -> Outcome {
        let projectID = candidate.$project.id
        let model = candidate.modelName
        let alias = try await ModelAlias.query(on: database).filter(\.$project.$id == projectID)
            .filter(\.$modelName == model).filter(\.$alias == aliasName).first()
        var incumbent: ModelVersion?
        if let alias { incumbent = try await ModelVersion.find(alias.$version.id, on: database) }
        let rules = try await ModelGate.query(on: database).filter(\.$project.$id == projectID).filter(\.$modelName == model).first()?.gate.rules ?? []
        let failures = force ? [] : PromotionGate.failures(rules: rules, candidate: candidate.metrics, incumbent: incumbent?.metrics)
        var outcome = Outcome(moved: failures.isEmpty, alias: aliasName, version: candidate.number, previous: incumbent?.number, failures: failures)
        let target = AuditLog.Target(kind: "model_alias", id: "\(model)@\(aliasName)", projectID: projectID)
        let details: JSONObject = ["to_version": .int(candidate.number), "from_version": incumbent.map { .int($0.number) } ?? .null, "force": .bool(force)]
        guard outcome.moved else {
            try await audit.record(actorID: actorID, action: "model.alias.move", resource: target, outcome: "gate_failed", details: details)
            return outcome
        }
        let candidateID = try candidate.requireID()
        let moved = alias ?? ModelAlias(projectID: projectID, modelName: model, alias: aliasName, versionID: candidateID)
        moved.$version.id = candidateID
        try await moved.save(on: database)
        outcome.updatedAt = moved.updatedAt
        try await audit.record(actorID: actorID, action: "model.alias.move", resource: target, details: details)
        return outcome
    }
}
