import FluentKit
import Foundation
import Hummingbird
import TrainplatCore

struct AuditEventDTO: Encodable, Sendable {
    var id: UUID?
    var actorID: UUID?
    var projectID: UUID?
    var action: String
    var resourceType: String
    var resourceID: String?
    var outcome: String
    var remoteAddress: String?
    var details: JSONObject
    var createdAt: Date?

    init(_ event: AuditEvent) {
        id = event.id
        actorID = event.$actor.id
        projectID = event.projectID
        action = event.action
        resourceType = event.resourceType
        resourceID = event.resourceID
        outcome = event.outcome
        remoteAddress = event.remoteAddress
        details = event.details
        createdAt = event.createdAt
    }
}

/// `/api/v1/audit-events`: admins read the audit log, newest first; `?action=` filters.
struct AuditController {
    let database: any Database

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get(use: list)
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> JSONResponse<Page<AuditEventDTO>> {
        _ = try UserController.requireAdmin(context)
        let query = AuditEvent.query(on: database)
        if let action = request.uri.queryParameters.get("action") { query.filter(\.$action == action) }
        return JSONResponse(try await PageRequest(request).page(query.sort(\.$createdAt, .descending)).map(AuditEventDTO.init))
    }
}
