import FluentKit
import Foundation
import SQLKit
import TrainplatCore

/// What every authenticated request reads about its caller, as plain rows of the few columns
/// it needs: the user behind a token, the key behind an API key, the caller's role in a
/// project. Fluent's models decode every field by reflection, which with Fluent's query
/// building was about 30% of the server's time in a profile of benchmarks/api.
struct AccountReads: Sendable {
    let database: any Database

    /// Whether and how a user may act now.
    struct Standing: Decodable, Sendable {
        let username: String
        let isAdmin: Bool
        let isDisabled: Bool
        /// Tokens issued before this no longer count (a password change or a disable).
        let tokensValidAfter: Date?
        let createdAt: Date?

        enum CodingKeys: String, CodingKey {
            case username, isAdmin = "is_admin", isDisabled = "is_disabled", tokensValidAfter = "tokens_valid_after", createdAt = "created_at"
        }
    }

    /// One project the user belongs to, with the role there.
    struct Member: Decodable, Sendable {
        let projectID: UUID
        let role: ProjectRole
        enum CodingKeys: String, CodingKey { case projectID = "project_id", role }
    }

    struct Key: Decodable, Sendable {
        let userID: UUID
        let projectID: UUID?
        let expiresAt: Date
        let revokedAt: Date?

        enum CodingKeys: String, CodingKey { case userID = "user_id", projectID = "project_id", expiresAt = "expires_at", revokedAt = "revoked_at" }
    }

    func standing(of userID: UUID) async throws -> Standing? {
        try await database.sql.select().columns("username", "is_admin", "is_disabled", "tokens_valid_after", "created_at").from(User.schema)
            .where("id", .equal, userID).first(decoding: Standing.self)
    }

    func key(hashed keyHash: String) async throws -> Key? {
        try await database.sql.select().columns("user_id", "project_id", "expires_at", "revoked_at").from(APIKey.schema)
            .where("key_hash", .equal, keyHash).first(decoding: Key.self)
    }

    func role(of userID: UUID, in projectID: UUID) async throws -> ProjectRole? {
        struct Row: Decodable { let role: String }
        let row = try await database.sql.select().column("role").from(Membership.schema)
            .where("user_id", .equal, userID).where("project_id", .equal, projectID).first(decoding: Row.self)
        return row.flatMap { ProjectRole(rawValue: $0.role) }
    }

    /// The caller's own account and memberships, as `GET /auth/me` shows them.
    func me(_ userID: UUID) async throws -> MeDTO? {
        guard let account = try await standing(of: userID) else { return nil }
        return MeDTO(
            user: UserDTO(
                id: userID, username: account.username, isAdmin: account.isAdmin, isDisabled: account.isDisabled, createdAt: account.createdAt),
            memberships: try await memberships(of: userID).map { MembershipDTO(userID: userID, projectID: $0.projectID, role: $0.role) })
    }

    func memberships(of userID: UUID) async throws -> [Member] {
        try await database.sql.select().columns("project_id", "role").from(Membership.schema)
            .where("user_id", .equal, userID).all(decoding: Member.self)
    }
}
