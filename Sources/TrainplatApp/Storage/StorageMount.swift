import FluentKit
import Foundation
import TrainplatCore

/// A saved mount of a user in a project (the seed's `storage_mounts`). Configmap and secret
/// mounts carry their files: configmap data in `config`, secret data sealed by `SecretBox`
/// and never returned; tasks of the same owner mount them by name.
final class StorageMount: Model, @unchecked Sendable {
    static let schema = "storage_mounts"

    @ID(key: .id) var id: UUID?

    @Parent(key: "user_id") var owner: User
    @Parent(key: "project_id") var project: Project

    @Field(key: "mount_path") var mountPath: String
    @Field(key: "storage_type") var storageType: String
    @OptionalField(key: "source") var source: String?
    /// `spec`: the structured mount; `data` (configmap) or `sealed_data` (secret); `keys`.
    @Field(key: "config") var config: JSONObject
    @Field(key: "status") var status: String

    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    init(spec: MountSpec, userID: UUID, projectID: UUID, config: JSONObject) {
        self.$owner.id = userID
        self.$project.id = projectID
        self.mountPath = spec.mountPath
        self.storageType = spec.type.rawValue
        self.source = spec.source
        self.config = config.merging(["spec": .object(spec.structured)]) { _, spec in spec }
        self.status = "active"
    }

    /// The owner's saved configmap or secret that `spec` names.
    static func saved(_ spec: MountSpec, userID: UUID, projectID: UUID, on database: any Database) async throws -> StorageMount? {
        try await StorageMount.query(on: database).filter(\.$project.$id == projectID).filter(\.$owner.$id == userID)
            .filter(\.$storageType == spec.type.rawValue).filter(\.$source == spec.source).first()
    }

    var spec: MountSpec? {
        (config["spec"]?.objectValue).flatMap { try? MountParser.parse(structured: $0) }
    }
}

/// A byte quota, and optionally an s3 object quota, for a project (`user` nil) or for one
/// user's data in it.
final class StorageQuota: Model, @unchecked Sendable {
    static let schema = "storage_quotas"

    @ID(key: .id) var id: UUID?
    @Parent(key: "project_id") var project: Project
    @OptionalParent(key: "user_id") var user: User?
    @Field(key: "max_bytes") var maxBytes: Int64
    @OptionalField(key: "max_objects") var maxObjects: Int64?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    init(projectID: UUID, userID: UUID?, maxBytes: Int64, maxObjects: Int64? = nil) {
        self.$project.id = projectID
        self.$user.id = userID
        self.maxBytes = maxBytes
        self.maxObjects = maxObjects
    }
}
