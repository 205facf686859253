import FluentKit
import Foundation
import Hummingbird
import TrainplatCore

/// `/api/v1/auth`: login, refresh (rotating, with reuse detection), logout, password
/// change and who-am-I.
struct AuthController {
    let auth: AuthService
    let audit: AuditLog
    let throttle: LoginThrottle

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("login", use: login)
        group.post("refresh", use: refresh)
        group.post("logout", use: logout)
        group.post("password", use: changePassword)
        group.get("me", use: me)
    }

    @Sendable func login(request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await RequestBody.decode(LoginRequest.self, from: request)
        let address = context.remoteAddress
        if let wait = throttle.retryAfter(username: body.username) {
            try await audit.record(actor: nil, action: "auth.login", resource: .init(kind: "user", id: body.username), outcome: "throttled", from: address)
            throw Problem(
                status: .tooManyRequests, title: "Too many failed logins", detail: "try again in \(wait) seconds",
                headers: [.retryAfter: String(wait)])
        }
        guard let user = try await auth.verifyPassword(username: body.username, password: body.password) else {
            throttle.recordFailure(username: body.username)
            try await audit.record(actor: nil, action: "auth.login", resource: .init(kind: "user", id: body.username), outcome: "denied", from: address)
            throw Problem.unauthorized("unknown user, wrong password or disabled account")
        }
        throttle.recordSuccess(username: body.username)
        let tokens = try await tokenPair(for: user, refreshToken: try await auth.refreshTokens.issue(userID: try user.requireID(), on: auth.database))
        try await audit.record(actor: identity(of: user), action: "auth.login", resource: .init(kind: "user", id: user.id?.uuidString), from: address)
        return try JSONResponse(tokens).response(from: request, context: context)
    }

    /// Exchanges a refresh token for a new pair; the presented one is spent.
    @Sendable func refresh(request: Request, context: AppRequestContext) async throws -> JSONResponse<TokenResponse> {
        let body = try await RequestBody.decode(RefreshRequest.self, from: request)
        switch try await auth.refreshTokens.rotate(body.refreshToken) {
        case .rotated(let user, let secret):
            try await audit.record(actor: identity(of: user), action: "auth.refresh", resource: .init(kind: "user", id: user.id?.uuidString), from: context.remoteAddress)
            return JSONResponse(try await tokenPair(for: user, refreshToken: secret))
        case .reused(let userID):
            try await audit.record(
                actor: nil, action: "auth.refresh", resource: .init(kind: "user", id: userID.uuidString), outcome: "reuse_detected", from: context.remoteAddress)
            throw Problem.unauthorized("this refresh token was already used, so every token of its login is revoked; log in again")
        case .invalid:
            throw Problem.unauthorized("the refresh token is unknown, expired or its account disabled; log in again")
        }
    }

    /// Ends the login the refresh token belongs to. Idempotent: an unknown token is fine.
    @Sendable func logout(request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await RequestBody.decode(RefreshRequest.self, from: request)
        if try await auth.refreshTokens.revokeFamily(of: body.refreshToken) {
            try await audit.record(actor: context.identity, action: "auth.logout", resource: .init(kind: "user", id: context.identity?.userID.uuidString), from: context.remoteAddress)
        }
        return Response(status: .noContent)
    }

    /// A person changes their own password; every other session of theirs ends.
    @Sendable func changePassword(request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        guard identity.isInteractiveLogin else {
            throw Problem(status: .forbidden, title: "Forbidden", detail: "changing a password needs a login token, not an API key or task token")
        }
        let body = try await RequestBody.decode(ChangePasswordRequest.self, from: request)
        guard let user = try await auth.verifyPassword(username: identity.username, password: body.currentPassword) else {
            throttle.recordFailure(username: identity.username)
            try await audit.record(actor: identity, action: "auth.password", resource: .init(kind: "user", id: identity.userID.uuidString), outcome: "denied", from: context.remoteAddress)
            throw Problem(status: .forbidden, title: "Forbidden", detail: "field 'current_password' is wrong")
        }
        user.passwordHash = try auth.hashPassword(body.newPassword, field: "new_password")
        try await user.update(on: auth.database)
        try await auth.endSessions(of: user)
        try await audit.record(actor: identity, action: "auth.password", resource: .init(kind: "user", id: identity.userID.uuidString), from: context.remoteAddress)
        return Response(status: .noContent)
    }

    private func tokenPair(for user: User, refreshToken: String) async throws -> TokenResponse {
        let access = try auth.accessToken(for: user)
        return TokenResponse(
            accessToken: access.token, expiresIn: access.expiresIn, refreshToken: refreshToken,
            refreshExpiresIn: Int(auth.refreshTokens.lifetime))
    }

    private func identity(of user: User) throws -> Identity {
        Identity(userID: try user.requireID(), username: user.username, isAdmin: user.isAdmin, credential: .accessToken)
    }

    @Sendable func me(request: Request, context: AppRequestContext) async throws -> JSONResponse<MeDTO> {
        let identity = try context.requireIdentity()
        // Plain rows: every client's first call, and the benchmark's measure of authentication.
        guard let me = try await AccountReads(database: auth.database).me(identity.userID) else {
            throw NotFound(resource: "user", id: identity.username)
        }
        return JSONResponse(me)
    }
}
