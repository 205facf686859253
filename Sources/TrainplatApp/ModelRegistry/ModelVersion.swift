import FluentKit
import Foundation
import TrainplatCore

/// A trained model version (never `Model`: that is Fluent's protocol).
final class ModelVersion: Model, @unchecked Sendable {
    static let schema = "model_versions"

    @ID(key: .id) var id: UUID?

    @Parent(key: "project_id") var project: Project
    @Parent(key: "user_id") var creator: User
    @OptionalParent(key: "parent_id") var parent: ModelVersion?
    @OptionalParent(key: "training_set_version_id") var trainingSetVersion: TrainingSetVersion?
    @OptionalParent(key: "pipeline_run_id") var run: PipelineRun?
    @OptionalParent(key: "task_run_id") var task: TaskRun?

    @Field(key: "model_name") var modelName: String
    @Field(key: "number") var number: Int
    @Field(key: "artifact_uri") var artifactURI: String
    @Field(key: "artifact_hash") var artifactHash: String
    @Field(key: "metrics") var metrics: JSONObject
    @Field(key: "config") var config: JSONObject
    @Field(key: "status") var status: String

    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}
}
