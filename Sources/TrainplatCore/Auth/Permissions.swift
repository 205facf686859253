/// A member's role in a project, weakest first: each role can do what the ones before it can.
public enum ProjectRole: String, Sendable, Codable, CaseIterable, Comparable {
    case viewer, member, maintainer, owner

    public static func < (lhs: ProjectRole, rhs: ProjectRole) -> Bool {
        allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }
}

/// What a project holds. Every resource belongs to exactly one project.
public enum ResourceKind: String, Sendable, Codable, CaseIterable {
    case project, membership, pipeline, run, mount
    case featureSource = "feature_source"
    case trainingSet = "training_set"
    case modelVersion = "model_version"
    case auditLog = "audit_log"
}

public enum Action: String, Sendable, Codable, CaseIterable {
    case read, create, update, delete
    /// Start, cancel or retry runs; run a feature source's connection test.
    case execute
}

/// Who is asking, as far as permissions care: a global admin, or a role in the project
/// that owns the resource (nil when the caller is not a member).
public struct Caller: Sendable, Equatable {
    public var isAdmin: Bool
    public var role: ProjectRole?

    public init(isAdmin: Bool, role: ProjectRole?) {
        self.isAdmin = isAdmin
        self.role = role
    }
}

/// The permission matrix (role x action x resource), documented in docs/permissions.md.
/// Admins may do everything; members get the least role each action needs.
public enum PermissionPolicy {
    /// The weakest role allowed to do `action` on `resource`; nil means admins only.
    public static func minimumRole(for action: Action, on resource: ResourceKind) -> ProjectRole? {
        switch (resource, action) {
        case (.auditLog, _), (.project, .create), (.project, .delete):
            return nil
        case (_, .read):
            return .viewer
        case (.project, _), (.membership, _):
            return .owner
        case (.mount, .update):
            return .maintainer
        case (.mount, _):
            // Members keep mounts of their own; removing someone else's takes a maintainer
            // (MountController checks ownership).
            return .member
        case (.featureSource, _):
            return action == .execute ? .member : .maintainer
        case (.pipeline, .delete), (.trainingSet, .delete), (.modelVersion, .update), (.modelVersion, .delete):
            return .maintainer
        case (.pipeline, _), (.run, _), (.trainingSet, _), (.modelVersion, _):
            return .member
        }
    }

    public static func allows(_ caller: Caller, _ action: Action, _ resource: ResourceKind) -> Bool {
        if caller.isAdmin { return true }
        guard let role = caller.role, let needed = minimumRole(for: action, on: resource) else { return false }
        return role >= needed
    }
}
