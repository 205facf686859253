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
/// gauges (`trainplat_storage_used_bytes`, `trainplat_storage_quota_bytes`).
struct StorageQuotas: Sendable {
    let database: any Database
    let volumes: LocalVolumes

    struct Standing: Sendable, Encodable {
        var userID: UUID?
        var usedBytes: Int64
        var files: Int64
        var quotaBytes: Int64?
        var byType: [String: Int64]
    }

    /// The project's standing and those of `users`, from one walk of the project's volumes
    /// and one read of its quotas.
    func standings(projectID: UUID, users: [UUID]) async throws -> (project: Standing, users: [Standing]) {
        let usage = try volumes.usage(projectID: projectID)
        let quotas = try await StorageQuota.query(on: database).filter(\.$project.$id == projectID).all()
        func standing(_ userID: UUID?, _ byType: [MountType: DiskUsage]) -> Standing {
            let total = byType.values.reduce(DiskUsage.zero, +)
            let standing = Standing(
                userID: userID, usedBytes: total.bytes, files: total.entries,
                quotaBytes: quotas.first { $0.$user.id == userID }?.maxBytes,
                byType: Dictionary(uniqueKeysWithValues: byType.map { ($0.key.rawValue, $0.value.bytes) }))
            Self.export(standing, projectID: projectID)
            return standing
        }
        let project = usage.values.reduce(into: [MountType: DiskUsage]()) { sum, byType in
            sum.merge(byType) { $0 + $1 }
        }
        return (standing(nil, project), users.map { standing($0, usage[$0] ?? [:]) })
    }

    /// Refuses a run whose mounts write to managed volumes while the project or the user is
    /// at or over quota.
    func checkBeforeRun(_ spec: PipelineSpec, projectID: UUID, userID: UUID) async throws {
        guard spec.tasks.contains(where: { $0.mounts.contains { [.pvc, .nfs].contains($0.type) } }) else { return }
        let (project, users) = try await standings(projectID: projectID, users: [userID])
        for standing in [project] + users {
            guard let quota = standing.quotaBytes, standing.usedBytes >= quota else { continue }
            let who = standing.userID == nil ? "project \(projectID)" : "user \(userID) in project \(projectID)"
            throw Problem(
                status: .conflict, title: "Storage quota exceeded",
                detail: "\(who) uses \(standing.usedBytes) bytes of a \(quota)-byte quota; free space or raise the quota before starting a run")
        }
    }

    private static func export(_ standing: Standing, projectID: UUID) {
        let user = standing.userID?.uuidString.lowercased() ?? "*"
        let project = projectID.uuidString.lowercased()
        for type in [MountType.pvc, .nfs] {
            Gauge(label: "trainplat_storage_used_bytes", dimensions: [("project", project), ("user", user), ("type", type.rawValue)])
                .record(standing.byType[type.rawValue] ?? 0)
        }
        if let quota = standing.quotaBytes {
            Gauge(label: "trainplat_storage_quota_bytes", dimensions: [("project", project), ("user", user)]).record(quota)
        }
    }
}
