import FluentKit
import Foundation
import Hummingbird
import TrainplatCore

/// `/api/v1/projects`: tenants and their members.
struct ProjectController {
    let database: any Database
    let access: ProjectAccess
    let audit: AuditLog

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.post(":project/members", use: addMember)
    }

    @Sendable func create(request: Request, context: AppRequestContext) async throws -> JSONResponse<ProjectDTO> {
        let admin = try UserController.requireAdmin(context)
        let body = try await RequestBody.decode(CreateProjectRequest.self, from: request)
        guard SpecNames.isIdentifier(body.name) else {
            throw Problem(status: .badRequest, title: "Bad request", detail: "field 'name' must start with a letter and use only letters, digits, '_' and '-' (max 63)")
        }
        guard try await Project.query(on: database).filter(\.$name == body.name).first() == nil else {
            throw Problem(status: .conflict, title: "Conflict", detail: "project '\(body.name)' exists")
        }
        let ownerID = try await userID(named: body.owner) ?? admin.userID
        let project = Project(name: body.name)
        try await database.transaction { database in
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

    @Sendable func addMember(request: Request, context: AppRequestContext) async throws -> JSONResponse<MembershipDTO> {
        let identity = try context.requireIdentity()
        let projectID = try Router<AppRequestContext>.uuid("project", in: context, resource: "project")
        try await access.require(identity, .create, .membership, in: projectID, id: projectID.uuidString)
        let body = try await RequestBody.decode(AddMemberRequest.self, from: request)
        guard let userID = try await userID(named: body.username) else {
            throw Problem(status: .badRequest, title: "Bad request", detail: "field 'username': no user '\(body.username)'")
        }
        let membership = try await Membership.query(on: database).filter(\.$user.$id == userID).filter(\.$project.$id == projectID).first()
            ?? Membership(userID: userID, projectID: projectID, role: body.role)
        membership.role = body.role
        try await membership.save(on: database)
        try await audit.record(
            actor: identity, action: "membership.set", resource: .init(kind: "membership", id: body.username, projectID: projectID),
            details: ["role": .string(body.role.rawValue)])
        return JSONResponse(MembershipDTO(userID: userID, projectID: projectID, role: body.role), status: .created)
    }

    private func userID(named username: String?) async throws -> UUID? {
        guard let username else { return nil }
        guard let user = try await User.query(on: database).filter(\.$username == username).first() else {
            throw Problem(status: .badRequest, title: "Bad request", detail: "no user '\(username)'")
        }
        return try user.requireID()
    }
}
