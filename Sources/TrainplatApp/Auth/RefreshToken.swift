import FluentKit
import Foundation
import SQLKit
import TrainplatCore

/// An opaque, single-use refresh token (stored as its SHA-256). Each login starts a family;
/// each refresh revokes the presented token and issues the next one in the family. A revoked
/// token presented again means it was copied: the whole family is revoked (reuse detection).
final class RefreshToken: Model, @unchecked Sendable {
    static let schema = "refresh_tokens"
    static let prefix = "tpr_"

    @ID(key: .id) var id: UUID?
    @Parent(key: "user_id") var user: User
    @Field(key: "family_id") var familyID: UUID
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "revoked_at") var revokedAt: Date?
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    init(userID: UUID, familyID: UUID, tokenHash: String, expiresAt: Date) {
        self.$user.id = userID
        self.familyID = familyID
        self.tokenHash = tokenHash
        self.expiresAt = expiresAt
    }
}

/// Issues, rotates and revokes refresh tokens.
struct RefreshTokens: Sendable {
    let database: any Database
    let lifetime: TimeInterval

    enum Outcome: Sendable {
        case rotated(user: User, secret: String)
        /// Unknown, expired or belonging to a disabled user.
        case invalid
        /// A revoked token came back: its family is now revoked.
        case reused(userID: UUID)
    }

    /// A new family for a fresh login; returns the token's secret (never stored).
    func issue(userID: UUID, familyID: UUID = UUID(), on database: any Database) async throws -> String {
        let secret = RefreshToken.prefix + RandomSecret.hex(bytes: 32)
        try await RefreshToken(userID: userID, familyID: familyID, tokenHash: ContentHash.sha256(secret), expiresAt: Date().addingTimeInterval(lifetime))
            .create(on: database)
        return secret
    }

    /// Exchanges `secret` for the next token of its family. Of two concurrent refreshes with
    /// one token, the guarded update lets exactly one win; the other counts as reuse.
    func rotate(_ secret: String) async throws -> Outcome {
        guard let token = try await RefreshToken.query(on: database).filter(\.$tokenHash == ContentHash.sha256(secret)).first() else {
            return .invalid
        }
        guard token.revokedAt == nil, try await markRevoked(token) else {
            try await revokeFamily(token.familyID)
            return .reused(userID: token.$user.id)
        }
        guard token.expiresAt > Date(), let user = try await User.find(token.$user.id, on: database), !user.isDisabled else {
            return .invalid
        }
        return .rotated(user: user, secret: try await issue(userID: token.$user.id, familyID: token.familyID, on: database))
    }

    /// Revokes the family of `secret` (logout); false when the token is unknown.
    func revokeFamily(of secret: String) async throws -> Bool {
        guard let token = try await RefreshToken.query(on: database).filter(\.$tokenHash == ContentHash.sha256(secret)).first() else {
            return false
        }
        try await revokeFamily(token.familyID)
        return true
    }

    /// Every refresh token of a user (password change, disable).
    func revokeAll(userID: UUID) async throws {
        try await RefreshToken.query(on: database).filter(\.$user.$id == userID).filter(\.$revokedAt == nil)
            .set(\.$revokedAt, to: Date()).update()
    }

    private func revokeFamily(_ familyID: UUID) async throws {
        try await RefreshToken.query(on: database).filter(\.$familyID == familyID).filter(\.$revokedAt == nil)
            .set(\.$revokedAt, to: Date()).update()
    }

    private func markRevoked(_ token: RefreshToken) async throws -> Bool {
        try await database.sql.update(RefreshToken.schema).set("revoked_at", to: Date())
            .where("id", .equal, try token.requireID()).where("revoked_at", .is, SQLLiteral.null)
            .returning("id").all().count == 1
    }
}
