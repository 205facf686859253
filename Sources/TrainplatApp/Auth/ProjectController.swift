import FluentKit
import Foundation
import Hummingbird
import TrainplatCore

/// `/api/v1/projects`: tenants and their members. A project is deleted only when it holds
/// nothing (pipelines, sources, mounts, training sets, models): deleting a team must never
/// take its data with it by accident.
struct ProjectController {
    let database: any Database
    let access: ProjectAccess
    let audit: AuditLog

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":project", use: get)
        group.patch(":project", use: rename)
        group.delete(":project", use: delete)
        group.get(":project/members", use: listMembers)
        group.post(":project/members", use: addMember)
        group.delete(":project/members/:username", use: removeMember)
    }

    @Sendable func create(request: Request, context: AppRequestContext) async throws -> JSONResponse<ProjectDTO> {
        let admin = try UserController.requireAdmin(context)
        let body = try await RequestBody.decode(CreateProjectRequest.self, from: request)
        try await requireFreeName(body.name)
        let ownerID = if let owner = body.owner { try await userID(named: owner, field: "owner") } else { admin.userID }
        let project = Project(name: body.name)
        try await database.writeTransaction { database in
            try await project.create(on: database)
            try await Membership(userID: ownerID, projectID: try project.requireID(), role: .owner).create(on: database)
        }
        try await audit.record(actor: admin, action: "project.create", resource: .init(kind: "project", id: project.id?.uuidString, projectID: project.id))
        return JSONResponse(ProjectDTO(project), status: .created)
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> JSONResponse<Page<ProjectDTO>> {
        let identity = try context.requireIdentity()
        let query = Project.query(on: database).sort(\.$name)
        if let projects = try await access.readableProjects(identity) { query.filter(\.$id ~~ projects) }
        return JSONResponse(try await PageRequest(request).page(query).map(ProjectDTO.init))
    }

    @Sendable func get(request: Request, context: AppRequestContext) async throws -> JSONResponse<ProjectDTO> {
        let (_, projectID) = try await access.scope(context, .read, .project)
        return JSONResponse(ProjectDTO(try await project(projectID)))
    }

    @Sendable func rename(request: Request, context: AppRequestContext) async throws -> JSONResponse<ProjectDTO> {
        let (identity, projectID) = try await access.scope(context, .update, .project)
        let body = try await RequestBody.decode(RenameProjectRequest.self, from: request)
        let project = try await project(projectID)
        // Its own name is not taken: a repeated PATCH succeeds and changes nothing.
        guard body.name != project.name else { return JSONResponse(ProjectDTO(project)) }
        try await requireFreeName(body.name)
        let previous = project.name
        project.name = body.name
        try await project.save(on: database)
        try await audit.record(
            actor: identity, action: "project.rename", resource: .init(kind: "project", id: projectID.uuidString, projectID: projectID),
            details: ["from": .string(previous), "to": .string(body.name)])
        return JSONResponse(ProjectDTO(project))
    }

    @Sendable func delete(request: Request, context: AppRequestContext) async throws -> Response {
        let (identity, projectID) = try await access.scope(context, .delete, .project)
        let project = try await project(projectID)
        let holdings = try await ProjectHoldings.count(in: projectID, on: database)
        guard holdings.isEmpty else {
            throw Problem(
                status: .conflict, title: "Conflict",
                detail: "project '\(project.name)' still holds \(holdings.summary); delete those first")
        }
        try await database.writeTransaction { database in
            try await ProjectHoldings.deleteSettings(of: projectID, on: database)
            try await project.delete(on: database)
        }
        try await audit.record(
            actor: identity, action: "project.delete", resource: .init(kind: "project", id: projectID.uuidString, projectID: projectID),
            details: ["name": .string(project.name)])
        return Response(status: .noContent)
    }

    @Sendable func listMembers(request: Request, context: AppRequestContext) async throws -> JSONResponse<Page<MemberDTO>> {
        let (_, projectID) = try await access.scope(context, .read, .membership)
        let query = Membership.query(on: database).filter(\.$project.$id == projectID).with(\.$user).sort(\.$createdAt)
        return JSONResponse(try await PageRequest(request).page(query).map(MemberDTO.init))
    }

    @Sendable func addMember(request: Request, context: AppRequestContext) async throws -> JSONResponse<MembershipDTO> {
        let (identity, projectID) = try await access.scope(context, .create, .membership)
        let body = try await RequestBody.decode(AddMemberRequest.self, from: request)
        let userID = try await userID(named: body.username, field: "username")
        let membership = try await Membership.query(on: database).filter(\.$user.$id == userID).filter(\.$project.$id == projectID).first()
            ?? Membership(userID: userID, projectID: projectID, role: body.role)
        if membership.role == .owner, body.role != .owner { try await requireAnotherOwner(than: userID, in: projectID) }
        membership.role = body.role
        try await membership.save(on: database)
        try await audit.record(
            actor: identity, action: "membership.set", resource: .init(kind: "membership", id: body.username, projectID: projectID),
            details: ["role": .string(body.role.rawValue)])
        return JSONResponse(MembershipDTO(userID: userID, projectID: projectID, role: body.role), status: .created)
    }

    /// Removes a member. What they made stays with the project; their API keys scoped to it
    /// stop working because every request checks the membership.
    @Sendable func removeMember(request: Request, context: AppRequestContext) async throws -> Response {
        let (identity, projectID) = try await access.scope(context, .delete, .membership)
        let username = try context.parameters.require("username")
        guard let user = try await User.query(on: database).filter(\.$username == username).first(),
            let membership = try await Membership.query(on: database)
                .filter(\.$user.$id == user.requireID()).filter(\.$project.$id == projectID).first()
        else { throw NotFound(resource: "member", id: username) }
        if membership.role == .owner { try await requireAnotherOwner(than: try user.requireID(), in: projectID) }
        try await membership.delete(on: database)
        try await audit.record(
            actor: identity, action: "membership.remove", resource: .init(kind: "membership", id: username, projectID: projectID),
            details: ["role": .string(membership.role.rawValue)])
        return Response(status: .noContent)
    }

    /// A project always keeps an owner: otherwise only an admin could manage it again.
    private func requireAnotherOwner(than userID: UUID, in projectID: UUID) async throws {
        let otherOwners = try await Membership.query(on: database)
            .filter(\.$project.$id == projectID).filter(\.$role == .owner).filter(\.$user.$id != userID).count()
        guard otherOwners > 0 else {
            throw Problem(status: .conflict, title: "Conflict", detail: "this is the project's last owner; make someone else owner first")
        }
    }

    private func project(_ id: UUID) async throws -> Project {
        guard let project = try await Project.find(id, on: database) else { throw NotFound(resource: "project", id: id.uuidString) }
        return project
    }

    private func requireFreeName(_ name: String) async throws {
        guard SpecNames.isIdentifier(name) else {
            throw Problem(status: .badRequest, title: "Bad request", detail: "field 'name' must start with a letter and use only letters, digits, '_' and '-' (max 63)")
        }
        guard try await Project.query(on: database).filter(\.$name == name).first() == nil else {
            throw Problem(status: .conflict, title: "Conflict", detail: "project '\(name)' exists")
        }
    }

    private func userID(named username: String, field: String) async throws -> UUID {
        guard let user = try await User.query(on: database).filter(\.$username == username).first() else {
            throw Problem(status: .badRequest, title: "Bad request", detail: "field '\(field)': no user '\(username)'")
        }
        return try user.requireID()
    }
}
