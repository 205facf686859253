import Foundation
import TrainplatCore

struct CreateMountRequest: Decodable {
    /// The string form (`models(pvc):/mnt/models`) or the structured form of one mount.
    var spec: JSONValue
    /// Files of a configmap or secret: name -> content.
    var data: [String: String]?
}

struct MountDTO: Encodable, Sendable {
    var id: UUID?
    var projectID: UUID
    var ownerID: UUID
    var mount: JSONObject
    var text: String
    /// Where the mount lands for its owner: claim/export/bucket/host path and sub-path.
    var placedRoot: String?
    var placedSubPath: String?
    /// File names of a configmap or secret; their content is never returned for secrets.
    var keys: [String]
    var data: [String: String]?
    var createdAt: Date?

    init(_ saved: StorageMount, placed: PlacedMount?) {
        id = saved.id
        projectID = saved.$project.id
        ownerID = saved.$owner.id
        mount = saved.config["spec"]?.objectValue ?? [:]
        text = saved.spec?.text ?? ""
        placedRoot = placed?.root
        placedSubPath = placed?.subPath
        keys = saved.config["keys"]?.arrayValue?.compactMap(\.stringValue) ?? []
        data = saved.storageType == MountType.configmap.rawValue
            ? saved.config["data"]?.objectValue?.compactMapValues(\.stringValue) : nil
        createdAt = saved.createdAt
    }
}

struct SetQuotaRequest: Decodable {
    /// Absent: the project's quota; present: that user's quota in the project. (`Id`, not
    /// `ID`: the decoder maps `user_id` to `userId`.)
    var userId: UUID?
    var maxBytes: Int64
    /// Objects in s3 prefixes; absent: no object quota.
    var maxObjects: Int64?
}

struct StorageReportDTO: Encodable, Sendable {
    var projectID: UUID
    var project: StorageQuotas.Standing
    var users: [StorageQuotas.Standing]
}
