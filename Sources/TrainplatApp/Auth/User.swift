import FluentKit
import Foundation

/// A person or service account.
final class User: Model, @unchecked Sendable {
    static let schema = "users"

    @ID(key: .id) var id: UUID?

    @Field(key: "username") var username: String
    @OptionalField(key: "password_hash") var passwordHash: String?
    @Field(key: "is_admin") var isAdmin: Bool
    @Field(key: "is_disabled") var isDisabled: Bool
    /// Access tokens issued before this second no longer count (set on password change and
    /// disable); nil: all unexpired ones do.
    @OptionalField(key: "tokens_valid_after") var tokensValidAfter: Date?

    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @Timestamp(key: "updated_at", on: .update) var updatedAt: Date?

    init() {}

    init(username: String, passwordHash: String?, isAdmin: Bool) {
        self.username = username
        self.passwordHash = passwordHash
        self.isAdmin = isAdmin
        self.isDisabled = false
    }
}
