import FluentKit
import Foundation
import TrainplatCore

/// Append-only record of a write or an auth event: who, what, when, from where, outcome.
final class AuditEvent: Model, @unchecked Sendable {
    static let schema = "audit_events"

    @ID(key: .id) var id: UUID?

    @OptionalParent(key: "actor_id") var actor: User?
    @OptionalField(key: "project_id") var projectID: UUID?

    @Field(key: "action") var action: String
    @Field(key: "resource_type") var resourceType: String
    @OptionalField(key: "resource_id") var resourceID: String?
    @Field(key: "outcome") var outcome: String
    @OptionalField(key: "remote_address") var remoteAddress: String?
    @Field(key: "details") var details: JSONObject

    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    init(actorID: UUID?, projectID: UUID?, action: String, resourceType: String, resourceID: String?, details: JSONObject = [:]) {
        self.$actor.id = actorID
        self.projectID = projectID
        self.action = action
        self.resourceType = resourceType
        self.resourceID = resourceID
        self.outcome = "success"
        self.details = details
    }
}
