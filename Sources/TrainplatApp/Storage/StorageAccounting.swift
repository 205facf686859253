import FluentKit
import Foundation
import Metrics
import TrainplatCore

/// Where the local executor keeps managed volumes, and what each owner uses of them:
/// `<volumes>/pvc/<claim>/project_<p>/user_<u>/…` and
/// `<volumes>/nfs/<server>/<export>/project_<p>/user_<u>/…`.
struct LocalVolumes: Sendable {
    let root: String
    /// `server/export/path` entries of `TRAINPLAT_NFS_EXPORTS`: the export directories.
    let nfsExports: [String]

    init(root: String, nfsExports: [String] = []) {
        self.root = root
        self.nfsExports = nfsExports
    }

    init(config: AppConfig) {
        self.init(root: config.volumesDirectory, nfsExports: config.storage.policy.nfsExports)
    }

    /// The directory a pvc or nfs mount shows its task.
    func directory(of mount: PlacedMount) -> String? {
        switch mount.spec.type {
        case .pvc: return "\(root)/pvc/\(mount.root)/\(mount.subPath)"
        case .nfs:
            let (server, export) = mount.root.splitOnce(":")
            return "\(root)/nfs/\(server)\(export)/\(mount.subPath)"
        default: return nil
        }
    }

    /// Every claim directory that exists, and the configured exports' directories.
    func volumeRoots() -> [(type: MountType, path: String)] {
        let claims = children(of: "\(root)/pvc").map { (MountType.pvc, $0) }
        return claims + nfsExports.map { (MountType.nfs, "\(root)/nfs/\($0)") }
    }

    private func children(of directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.sorted().map { "\(directory)/\($0)" }.filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
    }

    /// A project's usage per user and type, from one walk of each user's directories; the
    /// project's is their sum (placement puts nothing else below a project directory).
    func usage(projectID: UUID) throws -> [UUID: [MountType: DiskUsage]] {
        var users: [UUID: [MountType: DiskUsage]] = [:]
        for (type, volume) in volumeRoots() {
            for directory in children(of: "\(volume)/project_\(projectID.uuidString.lowercased())") {
                let name = (directory as NSString).lastPathComponent
                guard name.hasPrefix("user_"), let userID = UUID(uuidString: String(name.dropFirst("user_".count))) else { continue }
                users[userID, default: [:]][type, default: .zero] = users[userID, default: [:]][type, default: .zero] + (try DiskUsage.measure(directory))
            }
        }
        return users
    }
}

/// Usage against quotas: checked before a run starts, reported by the API, exported as
/// gauges (`trainplat_storage_used_bytes`, `trainplat_storage_quota_bytes`,
/// `trainplat_storage_used_objects`, `trainplat_storage_quota_objects`). Managed volumes
/// are walked on disk; s3 prefixes are listed at the endpoint, where objects are counted
/// too.
struct StorageQuotas: Sendable {
    let database: any Database
    let volumes: LocalVolumes
    let s3: S3Client?
    let buckets: [String]

    init(database: any Database, volumes: LocalVolumes, s3: S3Client? = nil, buckets: [String] = []) {
        self.database = database
        self.volumes = volumes
        self.s3 = s3
        self.buckets = buckets
    }

    init(database: any Database, config: AppConfig) {
        self.init(
            database: database, volumes: LocalVolumes(config: config), s3: config.storage.s3.map(S3Client.init),
            buckets: config.storage.policy.s3Buckets)
    }

    struct Standing: Sendable, Encodable {
        var userID: UUID?
        var usedBytes: Int64
        var files: Int64
        /// Objects in s3 prefixes (also counted in `files`).
        var objects: Int64
        var quotaBytes: Int64?
        var quotaObjects: Int64?
        var byType: [String: Int64]
    }

    /// The project's standing and those of `users`, from one walk of the project's volumes,
    /// one listing of its prefix in each bucket and one read of its quotas.
    func standings(projectID: UUID, users: [UUID]) async throws -> (project: Standing, users: [Standing]) {
        let quotas = try await StorageQuota.query(on: database).filter(\.$project.$id == projectID).all()
        return try await standings(projectID: projectID, users: users, quotas: quotas)
    }

    private func standings(projectID: UUID, users: [UUID], quotas: [StorageQuota]) async throws -> (project: Standing, users: [Standing]) {
        var usage = try volumes.usage(projectID: projectID)
        for (userID, objects) in try await s3Usage(projectID: projectID) {
            usage[userID, default: [:]][.s3] = objects
        }
        func standing(_ userID: UUID?, _ byType: [MountType: DiskUsage]) -> Standing {
            let total = byType.values.reduce(DiskUsage.zero, +)
            let quota = quotas.first { $0.$user.id == userID }
            let standing = Standing(
                userID: userID, usedBytes: total.bytes, files: total.entries, objects: byType[.s3]?.entries ?? 0,
                quotaBytes: quota?.maxBytes, quotaObjects: quota?.maxObjects,
                byType: Dictionary(uniqueKeysWithValues: byType.map { ($0.key.rawValue, $0.value.bytes) }))
            Self.export(standing, projectID: projectID)
            return standing
        }
        let project = usage.values.reduce(into: [MountType: DiskUsage]()) { sum, byType in
            sum.merge(byType) { $0 + $1 }
        }
        return (standing(nil, project), users.map { standing($0, usage[$0] ?? [:]) })
    }

    /// Bytes and objects per user below `project_<p>/` of every configured bucket.
    private func s3Usage(projectID: UUID) async throws -> [UUID: DiskUsage] {
        guard let s3 else { return [:] }
        let prefix = "project_\(projectID.uuidString.lowercased())/"
        var users: [UUID: DiskUsage] = [:]
        for bucket in buckets {
            do {
                try await s3.forEachObject(bucket: bucket, prefix: prefix) { key, size in
                    let owner = key.dropFirst(prefix.count).prefix { $0 != "/" }
                    guard owner.hasPrefix("user_"), let userID = UUID(uuidString: String(owner.dropFirst("user_".count))) else { return }
                    users[userID, default: .zero] = users[userID, default: .zero] + DiskUsage(bytes: size, entries: 1)
                }
            } catch {
                throw Problem(status: .badGateway, title: "S3 usage unavailable", detail: "could not count the project's s3 usage: \(error.message)")
            }
        }
        return users
    }

    /// Refuses a run whose mounts write to managed volumes or s3 while the project or the
    /// user is at or over a quota: bytes for every such mount, objects for s3 mounts.
    func checkBeforeRun(_ spec: PipelineSpec, projectID: UUID, userID: UUID) async throws {
        let types = Set(spec.tasks.flatMap { $0.mounts.map(\.type) }).intersection([.pvc, .nfs, .s3])
        guard !types.isEmpty else { return }
        let quotas = try await StorageQuota.query(on: database).filter(\.$project.$id == projectID)
            .group(.or) { $0.filter(\.$user.$id == nil).filter(\.$user.$id == userID) }.all()
        guard !quotas.isEmpty else { return }
        let (project, users) = try await standings(projectID: projectID, users: [userID], quotas: quotas)
        for standing in [project] + users {
            let who = standing.userID == nil ? "project \(projectID)" : "user \(userID) in project \(projectID)"
            if let quota = standing.quotaBytes, standing.usedBytes >= quota {
                throw Problem(
                    status: .conflict, title: "Storage quota exceeded",
                    detail: "\(who) uses \(standing.usedBytes) bytes of a \(quota)-byte quota; free space or raise the quota before starting a run")
            }
            if types.contains(.s3), let quota = standing.quotaObjects, standing.objects >= quota {
                throw Problem(
                    status: .conflict, title: "Storage quota exceeded",
                    detail: "\(who) holds \(standing.objects) s3 objects of a \(quota)-object quota; delete objects or raise the quota before starting a run")
            }
        }
    }

    private static func export(_ standing: Standing, projectID: UUID) {
        let user = standing.userID?.uuidString.lowercased() ?? "*"
        let project = projectID.uuidString.lowercased()
        for type in [MountType.pvc, .nfs, .s3] {
            Gauge(label: "trainplat_storage_used_bytes", dimensions: [("project", project), ("user", user), ("type", type.rawValue)])
                .record(standing.byType[type.rawValue] ?? 0)
        }
        Gauge(label: "trainplat_storage_used_objects", dimensions: [("project", project), ("user", user)]).record(standing.objects)
        if let quota = standing.quotaBytes {
            Gauge(label: "trainplat_storage_quota_bytes", dimensions: [("project", project), ("user", user)]).record(quota)
        }
        if let quota = standing.quotaObjects {
            Gauge(label: "trainplat_storage_quota_objects", dimensions: [("project", project), ("user", user)]).record(quota)
        }
    }
}
