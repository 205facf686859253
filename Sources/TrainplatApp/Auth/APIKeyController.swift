import FluentKit
import Foundation
import Hummingbird
import TrainplatCore

/// `/api/v1/api-keys`: a user's own keys. The secret is in the create response only.
struct APIKeyController {
    let auth: AuthService
    let audit: AuditLog
    let access: ProjectAccess

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.delete(":id", use: revoke)
    }

    private static func requireLogin(_ context: AppRequestContext) throws -> Identity {
        let identity = try context.requireIdentity()
        guard identity.isInteractiveLogin else {
            throw Problem(status: .forbidden, title: "Forbidden", detail: "API keys are managed with a login token, not with a key or a task token")
        }
        return identity
    }

    @Sendable func create(request: Request, context: AppRequestContext) async throws -> JSONResponse<APIKeyDTO> {
        let identity = try Self.requireLogin(context)
        let body = try await RequestBody.decode(CreateAPIKeyRequest.self, from: request)
        let days = body.expiresInDays ?? 90
        guard (1...365).contains(days) else { throw Problem(status: .badRequest, title: "Bad request", detail: "field 'expires_in_days' must be 1...365") }
        if let project = body.projectId {
            try await access.require(identity, .read, .project, in: project, id: project.uuidString)
        }
        let (key, secret) = try await auth.createAPIKey(userID: identity.userID, projectID: body.projectId, name: body.name, lifetimeDays: days)
        try await audit.record(actor: identity, action: "api_key.create", resource: .init(kind: "api_key", id: key.id?.uuidString, projectID: body.projectId))
        return JSONResponse(APIKeyDTO(key, secret: secret), status: .created)
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> JSONResponse<Page<APIKeyDTO>> {
        let identity = try Self.requireLogin(context)
        let query = APIKey.query(on: auth.database).filter(\.$user.$id == identity.userID).sort(\.$createdAt, .descending)
        return JSONResponse(try await PageRequest(request).page(query).map { APIKeyDTO($0) })
    }

    @Sendable func revoke(request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try Self.requireLogin(context)
        let id = try Router<AppRequestContext>.uuid("id", in: context, resource: "api key")
        guard let key = try await APIKey.query(on: auth.database).filter(\.$id == id).filter(\.$user.$id == identity.userID).first() else {
            throw NotFound(resource: "api key", id: id.uuidString)
        }
        key.revokedAt = Date()
        try await key.update(on: auth.database)
        try await audit.record(actor: identity, action: "api_key.revoke", resource: .init(kind: "api_key", id: id.uuidString))
        return Response(status: .noContent)
    }
}
