import FluentKit
import Foundation
import Hummingbird
import TrainplatCore

/// `/api/v1/users`: admins create, list, disable and enable users (self-signup is off).
struct UserController {
    let auth: AuthService
    let audit: AuditLog

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.post(":id/disable", use: disable)
        group.post(":id/enable", use: enable)
    }

    /// A disabled user cannot log in, and every token and API key of theirs stops working.
    @Sendable func disable(request: Request, context: AppRequestContext) async throws -> JSONResponse<UserDTO> {
        let admin = try Self.requireAdmin(context)
        let user = try await find(context)
        guard user.id != admin.userID else {
            throw Problem(status: .conflict, title: "Conflict", detail: "admins cannot disable themselves")
        }
        user.isDisabled = true
        try await user.update(on: auth.database)
        try await auth.endSessions(of: user)
        try await audit.record(actor: admin, action: "user.disable", resource: .init(kind: "user", id: user.id?.uuidString))
        return JSONResponse(UserDTO(user))
    }

    @Sendable func enable(request: Request, context: AppRequestContext) async throws -> JSONResponse<UserDTO> {
        let admin = try Self.requireAdmin(context)
        let user = try await find(context)
        user.isDisabled = false
        try await user.update(on: auth.database)
        try await audit.record(actor: admin, action: "user.enable", resource: .init(kind: "user", id: user.id?.uuidString))
        return JSONResponse(UserDTO(user))
    }

    private func find(_ context: AppRequestContext) async throws -> User {
        let id = try Router<AppRequestContext>.uuid("id", in: context, resource: "user")
        guard let user = try await User.find(id, on: auth.database) else { throw NotFound(resource: "user", id: id.uuidString) }
        return user
    }

    static func requireAdmin(_ context: AppRequestContext) throws -> Identity {
        let identity = try context.requireIdentity()
        guard identity.actsAsAdmin else { throw Problem(status: .forbidden, title: "Forbidden", detail: "only admins may do this") }
        return identity
    }

    @Sendable func create(request: Request, context: AppRequestContext) async throws -> JSONResponse<UserDTO> {
        let admin = try Self.requireAdmin(context)
        let body = try await RequestBody.decode(CreateUserRequest.self, from: request)
        guard SpecNames.isIdentifier(body.username) else {
            throw Problem(status: .badRequest, title: "Bad request", detail: "field 'username' must start with a letter and use only letters, digits, '_' and '-' (max 63)")
        }
        guard try await User.query(on: auth.database).filter(\.$username == body.username).first() == nil else {
            throw Problem(status: .conflict, title: "Conflict", detail: "username '\(body.username)' is taken")
        }
        let user = User(username: body.username, passwordHash: try auth.hashPassword(body.password), isAdmin: body.isAdmin ?? false)
        try await user.create(on: auth.database)
        try await audit.record(actor: admin, action: "user.create", resource: .init(kind: "user", id: user.id?.uuidString))
        return JSONResponse(UserDTO(user), status: .created)
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> JSONResponse<Page<UserDTO>> {
        _ = try Self.requireAdmin(context)
        return JSONResponse(try await PageRequest(request).page(User.query(on: auth.database).sort(\.$username)).map(UserDTO.init))
    }
}
