import FluentKit
import Foundation
import Metrics
import TrainplatCore

/// Where the local executor keeps managed volumes, and what each owner uses of them:
/// `<volumes>/pvc/<claim>/project_<p>/user_<u>/…` and
/// `<volumes>/nfs/<server>/<export>/project_<p>/user_<u>/…`.
struct LocalVolumes: Sendable {
    let root: String

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

    /// Every volume root (claim or export directory) that exists, with its type.
    func volumeRoots() -> [(type: MountType, path: String)] {
        let claims = children(of: "\(root)/pvc").map { (MountType.pvc, $0) }
        return claims + exportRoots().map { (MountType.nfs, $0) }
    }

    /// Export roots are the directories that hold `project_*` directories.
    private func exportRoots() -> [String] {
        var found: [String] = []
        var pending = children(of: "\(root)/nfs")
        while let directory = pending.popLast() {
            let below = children(of: directory)
            if below.contains(where: { ($0 as NSString).lastPathComponent.hasPrefix("project_") }) {
                found.append(directory)
            } else {
                pending += below
            }
        }
        return found.sorted()
    }

    private func children(of directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.sorted().map { "\(directory)/\($0)" }.filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
    }

    /// An owner's usage across all volumes, per type; `userID` nil: the whole project.
    func usage(projectID: UUID, userID: UUID?) throws -> [MountType: DiskUsage] {
        let owner = MountOwner(userID: userID?.uuidString ?? "", projectID: projectID.uuidString)
        let directory = userID == nil ? "project_\(owner.projectID)" : owner.directory
        var usage: [MountType: DiskUsage] = [:]
        for (type, volume) in volumeRoots() {
            usage[type, default: .zero] = usage[type, default: .zero] + (try DiskUsage.measure("\(volume)/\(directory)"))
        }
        return usage
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

    /// The project's and the user's standing; the user's is nil when `userID` is nil.
    func standing(projectID: UUID, userID: UUID?) async throws -> Standing {
        let usage = try volumes.usage(projectID: projectID, userID: userID)
        let quota = try await StorageQuota.query(on: database).filter(\.$project.$id == projectID).filter(\.$user.$id == userID).first()
        let total = usage.values.reduce(DiskUsage.zero, +)
        let standing = Standing(
            userID: userID, usedBytes: total.bytes, files: total.entries, quotaBytes: quota?.maxBytes,
            byType: Dictionary(uniqueKeysWithValues: usage.map { ($0.key.rawValue, $0.value.bytes) }))
        Self.export(standing, projectID: projectID)
        return standing
    }

    /// Refuses a run whose mounts write to managed volumes while the project or the user is
    /// at or over quota.
    func checkBeforeRun(_ spec: PipelineSpec, projectID: UUID, userID: UUID) async throws {
        guard spec.tasks.contains(where: { $0.mounts.contains { [.pvc, .nfs].contains($0.type) } }) else { return }
        for owner in [nil, userID] {
            let standing = try await standing(projectID: projectID, userID: owner)
            guard let quota = standing.quotaBytes, standing.usedBytes >= quota else { continue }
            let who = owner == nil ? "project \(projectID)" : "user \(userID) in project \(projectID)"
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
