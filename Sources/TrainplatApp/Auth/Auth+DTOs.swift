import Foundation
import TrainplatCore

struct LoginRequest: Decodable {
    var username: String
    var password: String
}

struct TokenResponse: Encodable, Sendable {
    var accessToken: String
    var tokenType = "Bearer"
    var expiresIn: Int
    /// Single use: exchange it at /api/v1/auth/refresh for the next pair.
    var refreshToken: String
    var refreshExpiresIn: Int
}

struct RefreshRequest: Decodable {
    var refreshToken: String
}

struct ChangePasswordRequest: Decodable {
    var currentPassword: String
    var newPassword: String
}

struct UserDTO: Encodable, Sendable {
    var id: UUID?
    var username: String
    var isAdmin: Bool
    var isDisabled: Bool
    var createdAt: Date?

    init(_ user: User) {
        self.init(id: user.id, username: user.username, isAdmin: user.isAdmin, isDisabled: user.isDisabled, createdAt: user.createdAt)
    }

    init(id: UUID?, username: String, isAdmin: Bool, isDisabled: Bool, createdAt: Date?) {
        self.id = id
        self.username = username
        self.isAdmin = isAdmin
        self.isDisabled = isDisabled
        self.createdAt = createdAt
    }
}

struct CreateUserRequest: Decodable {
    var username: String
    var password: String
    var isAdmin: Bool?
}

struct CreateAPIKeyRequest: Decodable {
    var name: String
    var projectId: UUID?
    var expiresInDays: Int?
}

struct APIKeyDTO: Encodable, Sendable {
    var id: UUID?
    var name: String
    var projectID: UUID?
    var expiresAt: Date
    var revokedAt: Date?
    /// Present only in the response that created the key.
    var secret: String?

    init(_ key: APIKey, secret: String? = nil) {
        id = key.id
        name = key.name
        projectID = key.$project.id
        expiresAt = key.expiresAt
        revokedAt = key.revokedAt
        self.secret = secret
    }
}

struct ProjectDTO: Encodable, Sendable {
    var id: UUID?
    var name: String
    var createdAt: Date?

    init(_ project: Project) {
        id = project.id
        name = project.name
        createdAt = project.createdAt
    }
}

struct CreateProjectRequest: Decodable {
    var name: String
    /// Username of the first owner; the admin creating it when absent.
    var owner: String?
}

struct RenameProjectRequest: Decodable {
    var name: String
}

struct MemberDTO: Encodable, Sendable {
    var userID: UUID
    var username: String
    var role: ProjectRole
    var createdAt: Date?

    init(_ membership: Membership) {
        userID = membership.$user.id
        username = membership.user.username
        role = membership.role
        createdAt = membership.createdAt
    }
}

struct AddMemberRequest: Decodable {
    var username: String
    var role: ProjectRole
}

struct MembershipDTO: Encodable, Sendable {
    var userID: UUID
    var projectID: UUID
    var role: ProjectRole
}

struct MeDTO: Encodable, Sendable {
    var user: UserDTO
    var memberships: [MembershipDTO]
}
