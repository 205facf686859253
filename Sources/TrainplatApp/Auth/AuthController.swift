import FluentKit
import Foundation
import Hummingbird
import TrainplatCore

/// `/api/v1/auth`: login and who-am-I.
struct AuthController {
    let auth: AuthService
    let audit: AuditLog
    let throttle: LoginThrottle

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("login", use: login)
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
        let token = try auth.accessToken(for: user)
        let identity = Identity(userID: try user.requireID(), username: user.username, isAdmin: user.isAdmin, credential: .accessToken)
        try await audit.record(actor: identity, action: "auth.login", resource: .init(kind: "user", id: user.id?.uuidString), from: address)
        return try JSONResponse(TokenResponse(accessToken: token.token, expiresIn: token.expiresIn)).response(from: request, context: context)
    }

    @Sendable func me(request: Request, context: AppRequestContext) async throws -> JSONResponse<MeDTO> {
        let identity = try context.requireIdentity()
        guard let user = try await User.find(identity.userID, on: auth.database) else { throw NotFound(resource: "user", id: identity.username) }
        let memberships = try await Membership.query(on: auth.database).filter(\.$user.$id == identity.userID).all()
        return JSONResponse(MeDTO(
            user: UserDTO(user),
            memberships: memberships.map { MembershipDTO(userID: $0.$user.id, projectID: $0.$project.id, role: $0.role) }))
    }
}
