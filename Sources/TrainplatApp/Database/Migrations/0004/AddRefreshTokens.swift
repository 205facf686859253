import FluentKit

/// Rotating refresh tokens (one family per login), and the moment before which a user's
/// access tokens stop counting (password change, disable).
struct AddRefreshTokens: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("refresh_tokens")
            .id()
            .field("user_id", .uuid, .required, .references("users", "id"))
            .field("family_id", .uuid, .required)
            .field("token_hash", .string, .required)
            .field("expires_at", .datetime, .required)
            .field("revoked_at", .datetime)
            .field("created_at", .datetime)
            .unique(on: "token_hash")
            .create()
        try await database.schema("users").field("tokens_valid_after", .datetime).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("users").deleteField("tokens_valid_after").update()
        try await database.schema("refresh_tokens").delete()
    }
}
