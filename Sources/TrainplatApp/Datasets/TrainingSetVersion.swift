import FluentKit
import Foundation
import TrainplatCore

/// A named line of training-set versions in a project.
final class TrainingSet: Model, @unchecked Sendable {
    static let schema = "training_sets"

    @ID(key: .id) var id: UUID?
    @Parent(key: "project_id") var project: Project
    @Field(key: "name") var name: String
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    init(projectID: UUID, name: String) {
        self.$project.id = projectID
        self.name = name
    }
}

/// An immutable training-set version (the seed's `training_set_versions`): `version_id` is
/// the content hash of its data and config, unique within the project.
final class TrainingSetVersion: Model, @unchecked Sendable {
    static let schema = "training_set_versions"

    @ID(key: .id) var id: UUID?

    @Parent(key: "training_set_id") var trainingSet: TrainingSet
    @Parent(key: "project_id") var project: Project
    @Parent(key: "user_id") var creator: User
    @OptionalParent(key: "pipeline_run_id") var run: PipelineRun?
    @OptionalParent(key: "task_run_id") var task: TaskRun?

    @Field(key: "name") var name: String
    @Field(key: "version_id") var versionID: String
    @Field(key: "doris_query_config") var dorisQueryConfig: JSONObject
    @Field(key: "feast_config") var feastConfig: JSONObject
    /// How the task built the data from its inputs (windowing, labels, format).
    @Field(key: "build_config") var buildConfig: JSONObject
    @OptionalField(key: "quality_score") var qualityScore: Double?
    @Field(key: "status") var status: String
    @Field(key: "row_count") var rowCount: Int
    @Field(key: "uri") var uri: String
    @Field(key: "schema_json") var dataSchema: JSONObject
    @OptionalField(key: "time_start") var timeStart: Date?
    @OptionalField(key: "time_end") var timeEnd: Date?
    @Field(key: "tier") var tier: String
    /// Pinned versions never move between storage tiers (nil: not pinned).
    @OptionalField(key: "pinned") var pinned: Bool?

    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}
}

/// One move of a training set's "current" pointer.
final class TrainingSetPointer: Model, @unchecked Sendable {
    static let schema = "training_set_pointers"

    @ID(key: .id) var id: UUID?
    @Parent(key: "training_set_id") var trainingSet: TrainingSet
    @Parent(key: "version_id") var version: TrainingSetVersion
    @Field(key: "moved_by") var movedBy: UUID
    @Field(key: "reason") var reason: String
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    init(trainingSetID: UUID, versionID: UUID, movedBy: UUID, reason: String) {
        self.$trainingSet.id = trainingSetID
        self.$version.id = versionID
        self.movedBy = movedBy
        self.reason = reason
    }
}
