import FluentKit
import Foundation
import HummingbirdBcrypt
import TrainplatCore

/// Passwords, tokens and API keys: how a credential becomes an `Identity`.
struct AuthService: Sendable {
    let database: any Database
    let signer: TokenSigner
    let accessTokenLifetime: TimeInterval
    /// bcrypt's cost; tests lower it, because each step doubles the time.
    let bcryptCost: UInt8
    let refreshTokens: RefreshTokens
    let taskTokens = TaskTokens()

    static let minimumPasswordLength = 12

    func hashPassword(_ password: String, field: String = "password") throws -> String {
        guard password.count >= Self.minimumPasswordLength else {
            throw Problem(status: .badRequest, title: "Bad request", detail: "field '\(field)' must have at least \(Self.minimumPasswordLength) characters")
        }
        return Bcrypt.hash(password, cost: bcryptCost)
    }

    /// The user with these credentials, or nil for a wrong name, a wrong password or a disabled
    /// account (the caller cannot tell which, by design). Runs bcrypt even for unknown names,
    /// so timing does not reveal which names exist.
    func verifyPassword(username: String, password: String) async throws -> User? {
        let user = try await User.query(on: database).filter(\.$username == username).first()
        let hash = user?.passwordHash ?? Self.dummyHash
        let valid = Bcrypt.verify(password, hash: hash)
        guard let user, valid, !user.isDisabled, user.passwordHash != nil else { return nil }
        return user
    }

    private static let dummyHash = Bcrypt.hash("not a real password, only for timing", cost: 4)

    func accessToken(for user: User) throws -> (token: String, expiresIn: Int) {
        let claims = TokenClaims(sub: try user.requireID().uuidString, kind: .access, issuedAt: Date(), lifetime: accessTokenLifetime)
        return (signer.sign(claims), Int(accessTokenLifetime))
    }

    /// A token for one task process: valid for its run only, for `lifetime` seconds.
    func taskToken(userID: UUID, runID: UUID, lifetime: TimeInterval) -> String {
        taskTokens.token(for: TokenClaims(sub: userID.uuidString, kind: .task, run: runID.uuidString, issuedAt: Date(), lifetime: lifetime), signer: signer)
    }

    /// Creates an API key and returns it with its secret, which is never stored.
    func createAPIKey(userID: UUID, projectID: UUID?, name: String, lifetimeDays: Int) async throws -> (key: APIKey, secret: String) {
        let secret = APIKey.prefix + RandomSecret.hex(bytes: 24)
        let key = APIKey(
            userID: userID, projectID: projectID, name: name, keyHash: ContentHash.sha256(secret),
            expiresAt: Date().addingTimeInterval(Double(lifetimeDays) * 86400))
        try await key.create(on: database)
        return (key, secret)
    }

    /// Ends every session of a user: access tokens issued until now and all refresh tokens.
    func endSessions(of user: User) async throws {
        user.tokensValidAfter = Date()
        try await user.update(on: database)
        try await refreshTokens.revokeAll(userID: try user.requireID())
    }

    /// The identity behind a bearer credential; nil when it is not valid (expired, revoked,
    /// forged, or its user disabled).
    func identity(forBearer credential: String) async throws -> Identity? {
        if credential.hasPrefix(APIKey.prefix) { return try await identity(forAPIKey: credential) }
        guard let claims = try? signer.verify(credential), let userID = UUID(uuidString: claims.sub),
            let user = try await AccountReads(database: database).standing(of: userID), !user.isDisabled
        else { return nil }
        // A password change or a disable ends every token issued before it.
        if let validAfter = user.tokensValidAfter, claims.iat < Int(validAfter.timeIntervalSince1970) { return nil }
        switch claims.kind {
        case .access:
            return Identity(userID: userID, username: user.username, isAdmin: user.isAdmin, credential: .accessToken)
        case .task:
            guard let runID = claims.run.flatMap(UUID.init(uuidString:)) else { return nil }
            // A task acts with its run's permissions, never as an admin.
            return Identity(userID: userID, username: user.username, isAdmin: false, credential: .task(runID: runID))
        }
    }

    private func identity(forAPIKey secret: String) async throws -> Identity? {
        let accounts = AccountReads(database: database)
        guard let key = try await accounts.key(hashed: ContentHash.sha256(secret)), key.revokedAt == nil, key.expiresAt > Date(),
            let user = try await accounts.standing(of: key.userID), !user.isDisabled
        else { return nil }
        return Identity(userID: key.userID, username: user.username, isAdmin: user.isAdmin, credential: .apiKey(projectID: key.projectID))
    }
}
