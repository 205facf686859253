import FluentKit
import Foundation
import Hummingbird
import TrainplatCore

/// Authorization for project resources. A caller who may not even read a resource gets a
/// 404, exactly as if it did not exist, so ids of other tenants never leak; a member who
/// may read but not act gets a 403.
struct ProjectAccess: Sendable {
    let database: any Database

    func caller(_ identity: Identity, in projectID: UUID) async throws -> Caller {
        switch identity.credential {
        case .apiKey(let keyProject?) where keyProject != projectID:
            return Caller(isAdmin: false, role: nil)
        case .task:
            // Task tokens reach their own run only (RunController checks that); nothing else.
            return Caller(isAdmin: false, role: nil)
        default:
            break
        }
        return Caller(isAdmin: identity.actsAsAdmin, role: try await accounts.role(of: identity.userID, in: projectID))
    }

    /// A user's standing without a request: how a pipeline acts for the user who started its
    /// run. A disabled user has none.
    func caller(userID: UUID, in projectID: UUID) async throws -> Caller {
        guard let user = try await accounts.standing(of: userID), !user.isDisabled else {
            return Caller(isAdmin: false, role: nil)
        }
        return Caller(isAdmin: user.isAdmin, role: try await accounts.role(of: userID, in: projectID))
    }

    private var accounts: AccountReads { AccountReads(database: database) }

    /// Throws 404 or 403 unless `identity` may do `action` on a `resource` of `projectID`.
    func require(_ identity: Identity, _ action: Action, _ resource: ResourceKind, in projectID: UUID, id: String) async throws {
        let caller = try await caller(identity, in: projectID)
        guard PermissionPolicy.allows(caller, .read, resource) else { throw NotFound(resource: resource.rawValue, id: id) }
        // Members' projects exist; an admin may name any id, and a missing project must be a
        // 404 here rather than a foreign-key failure on the write that follows.
        if caller.role == nil, try await Project.find(projectID, on: database) == nil {
            throw NotFound(resource: "project", id: projectID.uuidString)
        }
        guard PermissionPolicy.allows(caller, action, resource) else {
            throw Problem(status: .forbidden, title: "Forbidden", detail: "your role in this project may not \(action.rawValue) \(resource.rawValue)s")
        }
    }

    /// For routes under `/projects/:project/…`: the caller, and the project from the path,
    /// after `require` (401 without a credential, then 404 or 403).
    func scope(_ context: AppRequestContext, _ action: Action, _ resource: ResourceKind) async throws -> (Identity, UUID) {
        let identity = try context.requireIdentity()
        let projectID = try Router<AppRequestContext>.uuid("project", in: context, resource: "project")
        try await require(identity, action, resource, in: projectID, id: projectID.uuidString)
        return (identity, projectID)
    }

    /// The projects whose resources `identity` may list; nil means all (admins).
    func readableProjects(_ identity: Identity) async throws -> [UUID]? {
        if identity.actsAsAdmin { return nil }
        if case .apiKey(let keyProject?) = identity.credential { return [keyProject] }
        if case .task = identity.credential { return [] }
        return try await accounts.memberships(of: identity.userID).map(\.projectID)
    }
}

extension ProjectAccess {
    /// A page of the rows of a project-owned model that `identity` may read, newest first:
    /// the one shape of every registry list endpoint.
    func newest<M: Model>(
        _ type: M.Type, for identity: Identity, project: KeyPath<M, FieldProperty<M, UUID>>,
        createdAt: KeyPath<M, TimestampProperty<M, DefaultTimestampFormat>>, page: PageRequest
    ) async throws -> Page<M> {
        let query = M.query(on: database)
        if let projects = try await readableProjects(identity) { query.filter(project ~~ projects) }
        return try await page.page(query.sort(createdAt, .descending))
    }

    /// The caller's readable subset of `query` (by a project column), one page of it.
    func readable<M: Model>(
        _ query: QueryBuilder<M>, for identity: Identity, project: KeyPath<M, FieldProperty<M, UUID>>, page: PageRequest
    ) async throws -> Page<M> {
        if let projects = try await readableProjects(identity) { query.filter(project ~~ projects) }
        return try await page.page(query)
    }
}
