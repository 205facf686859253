import FluentKit
import Foundation
import Hummingbird
import TrainplatCore

/// `/api/v1/projects/:project/mounts` (saved mounts of the caller, configmap and secret
/// data included) and `/api/v1/projects/:project/storage` (usage against quotas).
struct MountController {
    let database: any Database
    let access: ProjectAccess
    let audit: AuditLog
    let secrets: SecretBox
    let storage: StorageConfig
    let quotas: StorageQuotas

    func addRoutes(to projects: RouterGroup<AppRequestContext>) {
        projects.post(":project/mounts", use: create)
        projects.get(":project/mounts", use: list)
        projects.get(":project/mounts/:mount", use: get)
        projects.delete(":project/mounts/:mount", use: delete)
        projects.get(":project/storage", use: report)
        projects.put(":project/storage/quota", use: setQuota)
    }

    @Sendable func create(request: Request, context: AppRequestContext) async throws -> JSONResponse<MountDTO> {
        let (identity, projectID) = try await access.scope(context, .create, .mount)
        let body = try await RequestBody.decode(CreateMountRequest.self, from: request)
        let spec: MountSpec
        let placed: PlacedMount
        let config: JSONObject
        do {
            let parsed = try MountParser.parse(item: body.spec)
            guard parsed.count == 1, let only = parsed.first else { throw StorageError("spec must describe exactly one mount, got \(parsed.count)") }
            spec = only
            placed = try MountPlacement.place(spec, owner: owner(identity, projectID), policy: storage.policy)
            try MountData.validate(body.data ?? [:], for: spec.type)
            config = try MountData.config(body.data ?? [:], for: spec.type, secrets: secrets)
        } catch let error as StorageError {
            throw Problem(status: .unprocessableContent, title: "Invalid mount", detail: error.message)
        }
        if spec.type == .configmap || spec.type == .secret, try await StorageMount.saved(spec, userID: identity.userID, projectID: projectID, on: database) != nil {
            throw Problem(status: .conflict, title: "Conflict", detail: "you already have a \(spec.type.rawValue) named '\(spec.source)' in this project")
        }
        let saved = StorageMount(spec: spec, userID: identity.userID, projectID: projectID, config: config)
        try await saved.create(on: database)
        try await audit.record(
            actor: identity, action: "mount.create", resource: .init(kind: "mount", id: try saved.requireID().uuidString, projectID: projectID))
        return JSONResponse(MountDTO(saved, placed: placed), status: .created)
    }

    @Sendable func list(request: Request, context: AppRequestContext) async throws -> JSONResponse<Page<MountDTO>> {
        let (_, projectID) = try await access.scope(context, .read, .mount)
        let query = StorageMount.query(on: database).filter(\.$project.$id == projectID).sort(\.$createdAt, .descending)
        return JSONResponse(try await PageRequest(request).page(query).map { MountDTO($0, placed: place($0)) })
    }

    @Sendable func get(request: Request, context: AppRequestContext) async throws -> JSONResponse<MountDTO> {
        let (_, projectID) = try await access.scope(context, .read, .mount)
        let saved = try await find(context, projectID: projectID)
        return JSONResponse(MountDTO(saved, placed: place(saved)))
    }

    /// Owners delete their own mounts; someone else's takes a maintainer (mount update).
    @Sendable func delete(request: Request, context: AppRequestContext) async throws -> Response {
        let (identity, projectID) = try await access.scope(context, .delete, .mount)
        let saved = try await find(context, projectID: projectID)
        if saved.$owner.id != identity.userID {
            try await access.require(identity, .update, .mount, in: projectID, id: try saved.requireID().uuidString)
        }
        try await saved.delete(on: database)
        try await audit.record(
            actor: identity, action: "mount.delete", resource: .init(kind: "mount", id: try saved.requireID().uuidString, projectID: projectID))
        return Response(status: .noContent)
    }

    @Sendable func report(request: Request, context: AppRequestContext) async throws -> JSONResponse<StorageReportDTO> {
        let (_, projectID) = try await access.scope(context, .read, .mount)
        let members = try await Membership.query(on: database).filter(\.$project.$id == projectID).all(\.$user.$id)
        let (project, users) = try await quotas.standings(projectID: projectID, users: Set(members).sorted { $0.uuidString < $1.uuidString })
        return JSONResponse(StorageReportDTO(projectID: projectID, project: project, users: users))
    }

    /// Project owners (and admins) set the project's quota or a user's quota in it.
    @Sendable func setQuota(request: Request, context: AppRequestContext) async throws -> JSONResponse<StorageQuotas.Standing> {
        let (identity, projectID) = try await access.scope(context, .update, .project)
        let body = try await RequestBody.decode(SetQuotaRequest.self, from: request)
        for (field, value): (String, Int64?) in [("max_bytes", body.maxBytes), ("max_objects", body.maxObjects)] {
            if let value, value < 0 {
                throw Problem(status: .badRequest, title: "Bad request", detail: "field '\(field)' must be 0 or more, got \(value)")
            }
        }
        if let userID = body.userId,
            try await Membership.query(on: database).filter(\.$project.$id == projectID).filter(\.$user.$id == userID).first() == nil
        {
            throw Problem(status: .badRequest, title: "Bad request", detail: "field 'user_id': \(userID) is not a member of this project")
        }
        let existing = try await StorageQuota.query(on: database).filter(\.$project.$id == projectID).filter(\.$user.$id == body.userId).first()
        let quota = existing ?? StorageQuota(projectID: projectID, userID: body.userId, maxBytes: body.maxBytes)
        quota.maxBytes = body.maxBytes
        quota.maxObjects = body.maxObjects
        try await quota.save(on: database)
        try await audit.record(
            actor: identity, action: "storage.quota", resource: .init(kind: "project", id: projectID.uuidString, projectID: projectID),
            details: [
                "user_id": body.userId.map { .string($0.uuidString) } ?? .null, "max_bytes": .int(Int(body.maxBytes)),
                "max_objects": body.maxObjects.map { .int(Int($0)) } ?? .null,
            ])
        let (project, users) = try await quotas.standings(projectID: projectID, users: body.userId.map { [$0] } ?? [])
        return JSONResponse(users.first ?? project)
    }

    private func owner(_ identity: Identity, _ projectID: UUID) -> MountOwner {
        MountOwner(userID: identity.userID.uuidString, projectID: projectID.uuidString)
    }

    private func place(_ saved: StorageMount) -> PlacedMount? {
        saved.spec.flatMap {
            try? MountPlacement.place(
                $0, owner: MountOwner(userID: saved.$owner.id.uuidString, projectID: saved.$project.id.uuidString), policy: storage.policy)
        }
    }

    private func find(_ context: AppRequestContext, projectID: UUID) async throws -> StorageMount {
        let id = try Router<AppRequestContext>.uuid("mount", in: context, resource: "mount")
        guard let saved = try await StorageMount.find(id, on: database), saved.$project.id == projectID else {
            throw NotFound(resource: "mount", id: id.uuidString)
        }
        return saved
    }
}
