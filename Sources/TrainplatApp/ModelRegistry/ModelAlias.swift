import FluentKit
import Foundation
import TrainplatCore

/// A movable, audited pointer (`staging`, `production`) from a model name to one version.
/// Rollback is moving it back; versions themselves never change.
final class ModelAlias: Model, @unchecked Sendable {
    static let schema = "model_aliases"

    @ID(key: .id) var id: UUID?
    @Parent(key: "project_id") var project: Project
    @Field(key: "model_name") var modelName: String
    @Field(key: "alias") var alias: String
    @Parent(key: "model_version_id") var version: ModelVersion
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    init(projectID: UUID, modelName: String, alias: String, versionID: UUID) {
        self.$project.id = projectID
        self.modelName = modelName
        self.alias = alias
        self.$version.id = versionID
    }
}

/// The promotion gate of one model: rules every alias move must pass (unless forced).
final class ModelGate: Model, @unchecked Sendable {
    static let schema = "model_gates"

    @ID(key: .id) var id: UUID?
    @Parent(key: "project_id") var project: Project
    @Field(key: "model_name") var modelName: String
    @Field(key: "rules") var gate: GateRules
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    init(projectID: UUID, modelName: String, gate: GateRules) {
        self.$project.id = projectID
        self.modelName = modelName
        self.gate = gate
    }
}
