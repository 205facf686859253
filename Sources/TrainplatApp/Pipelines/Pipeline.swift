import FluentKit
import Foundation
import TrainplatCore

/// A named pipeline in a project. Keeps the seed's columns: `version` and `config` mirror
/// the newest version, so listing pipelines needs no join.
final class Pipeline: Model, @unchecked Sendable {
    static let schema = "pipelines"

    @ID(key: .id) var id: UUID?

    @Parent(key: "project_id") var project: Project
    @Parent(key: "user_id") var owner: User

    @Field(key: "name") var name: String
    @Field(key: "version") var version: String
    @Field(key: "config") var config: JSONObject
    @Field(key: "status") var status: String

    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    init(projectID: UUID, ownerID: UUID, name: String, version: String, config: JSONObject) {
        self.$project.id = projectID
        self.$owner.id = ownerID
        self.name = name
        self.version = version
        self.config = config
        self.status = "created"
    }
}

extension Pipeline {
    /// Every column but `config`, which mirrors the newest spec (megabytes for a large
    /// pipeline) and which nothing reads back: decoding it twice was most of starting a run
    /// of a 1,000-task pipeline. A model read this way may still be updated.
    static func queryWithoutConfig(on database: any Database) -> QueryBuilder<Pipeline> {
        query(on: database).field(\.$id).field(\.$project.$id).field(\.$owner.$id).field(\.$name).field(\.$version).field(\.$status)
            .field(\.$createdAt).field(\.$updatedAt)
    }

    static func findWithoutConfig(_ id: UUID, on database: any Database) async throws -> Pipeline? {
        try await queryWithoutConfig(on: database).filter(\.$id == id).first()
    }
}

/// One immutable version of a pipeline, identified by the hash of its canonical spec.
final class PipelineVersion: Model, @unchecked Sendable {
    static let schema = "pipeline_versions"

    @ID(key: .id) var id: UUID?

    @Parent(key: "pipeline_id") var pipeline: Pipeline
    @Parent(key: "created_by") var creator: User

    @Field(key: "number") var number: Int
    @Field(key: "spec_hash") var specHash: String
    /// The canonical JSON spec; re-parsed with `SpecParser` when a run starts.
    @Field(key: "spec") var spec: String

    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    init(pipelineID: UUID, creatorID: UUID, number: Int, specHash: String, spec: String) {
        self.$pipeline.id = pipelineID
        self.$creator.id = creatorID
        self.number = number
        self.specHash = specHash
        self.spec = spec
    }
}
