import FluentKit
import Foundation
import TrainplatCore

/// Appends audit events: every write and every auth event, with who, what, from where and
/// how it ended. Nothing ever updates or deletes them.
struct AuditLog: Sendable {
    let database: any Database

    struct Target {
        var kind: String
        var id: String?
        var projectID: UUID?
    }

    func record(
        actor: Identity?, action: String, resource: Target, outcome: String = "success", from address: String? = nil,
        details: JSONObject = [:]
    ) async throws {
        try await record(actorID: actor?.userID, action: action, resource: resource, outcome: outcome, from: address, details: details)
    }

    /// For actions without a request: a pipeline acts for the user who started its run.
    func record(
        actorID: UUID?, action: String, resource: Target, outcome: String = "success", from address: String? = nil,
        details: JSONObject = [:]
    ) async throws {
        let event = AuditEvent(actorID: actorID, projectID: resource.projectID, action: action, resourceType: resource.kind, resourceID: resource.id, details: details)
        event.outcome = outcome
        event.remoteAddress = address
        try await event.create(on: database)
    }
}
