import FluentKit
import Foundation
import Hummingbird
import TrainplatCore

/// `/api/v1/users`: admins create and list users (self-signup is off).
struct UserController {
    let auth: AuthService
    let audit: AuditLog

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post(use: create)
        group.get(use: list)
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
        let users = try await User.query(on: auth.database).sort(\.$username).limit(100).all()
        return JSONResponse(Page(items: users.map(UserDTO.init), total: try await User.query(on: auth.database).count()))
    }
}
