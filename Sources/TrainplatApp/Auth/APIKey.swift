import FluentKit
import Foundation

/// A long-lived credential for the SDK and CI: shown once, stored as its SHA-256, optionally
/// limited to one project, always expiring.
final class APIKey: Model, @unchecked Sendable {
    static let schema = "api_keys"
    /// Every key starts with this, so a bearer token is recognisably a key (and secret scanners find it).
    static let prefix = "tp_"

    @ID(key: .id) var id: UUID?
    @Parent(key: "user_id") var user: User
    @OptionalParent(key: "project_id") var project: Project?

    @Field(key: "name") var name: String
    @Field(key: "key_hash") var keyHash: String
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "revoked_at") var revokedAt: Date?

    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    init(userID: UUID, projectID: UUID?, name: String, keyHash: String, expiresAt: Date) {
        self.$user.id = userID
        self.$project.id = projectID
        self.name = name
        self.keyHash = keyHash
        self.expiresAt = expiresAt
    }
}
