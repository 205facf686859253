import FluentKit
import Foundation
import TrainplatCore

/// A storage mount owned by a user in a project (the seed's `storage_mounts`).
final class StorageMount: Model, @unchecked Sendable {
    static let schema = "storage_mounts"

    @ID(key: .id) var id: UUID?

    @Parent(key: "user_id") var owner: User
    @Parent(key: "project_id") var project: Project

    @Field(key: "mount_path") var mountPath: String
    @Field(key: "storage_type") var storageType: String
    @Field(key: "config") var config: JSONObject
    @Field(key: "status") var status: String

    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}
}
