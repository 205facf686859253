import FluentKit
import Foundation
import TrainplatCore

/// A team's tenant: every pipeline, run, mount, source, training set and model belongs to one.
final class Project: Model, @unchecked Sendable {
    static let schema = "projects"

    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    init(name: String) {
        self.name = name
    }
}

final class Membership: Model, @unchecked Sendable {
    static let schema = "memberships"

    @ID(key: .id) var id: UUID?
    @Parent(key: "user_id") var user: User
    @Parent(key: "project_id") var project: Project
    @Field(key: "role") var role: ProjectRole
    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    init(userID: UUID, projectID: UUID, role: ProjectRole) {
        self.$user.id = userID
        self.$project.id = projectID
        self.role = role
    }
}
