import FluentKit
import Foundation
import TrainplatCore

/// Makes a task's mounts real on this machine for the local executor, and tells the task
/// where they are through `TRAINPLAT_MOUNT_<NAME>`. Confinement is by placement: each mount
/// resolves to the owner's own directory, prefix or allow-listed host path. The local
/// executor runs tasks as the server's OS user, so it does not sandbox a hostile process;
/// the Kubernetes rendering (`KubernetesVolumes`) is what enforces it in production.
struct LocalMounts: Sendable {
    let database: any Database
    let storage: StorageConfig
    let volumes: LocalVolumes
    let secrets: SecretBox

    /// What the executor needs from prepared mounts.
    struct Prepared: Sendable {
        var environment: [String: String] = [:]
        /// Mounts with a size limit, checked on every heartbeat.
        var limits: [(name: String, path: String, bytes: Int64)] = []
        /// Removed when the attempt ends: memory mounts and materialised configmaps/secrets.
        var temporary: [String] = []

        /// The first mount over its size limit, as a reason to stop the task.
        func overLimit() -> String? {
            for limit in limits {
                guard let used = try? DiskUsage.measure(limit.path).bytes, used > limit.bytes else { continue }
                return "mount \(limit.name) holds \(used) bytes, over its size limit of \(limit.bytes) bytes"
            }
            return nil
        }

        func removeTemporary() {
            for path in temporary {
                // Materialised files are 0400 in a 0500 directory; make them removable first.
                if let names = FileManager.default.enumerator(atPath: path) {
                    for case let name as String in names { chmod("\(path)/\(name)", 0o700) }
                }
                chmod(path, 0o700)
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }

    /// `timeoutSeconds` is the task's: scoped s3 credentials last as long as it may run.
    func prepare(
        _ mounts: [MountSpec], owner: MountOwner, userID: UUID, projectID: UUID, attemptDirectory: String, timeoutSeconds: Double? = nil
    ) async throws -> Prepared {
        var prepared = Prepared()
        do {
            var s3Mounts: [PlacedMount] = []
            for mount in mounts {
                let placed = try MountPlacement.place(mount, owner: owner, policy: storage.policy)
                let location = try await materialise(placed, userID: userID, projectID: projectID, attemptDirectory: attemptDirectory, into: &prepared)
                prepared.environment["TRAINPLAT_MOUNT_\(mount.name)"] = location
                if mount.type == .s3 {
                    s3Mounts.append(placed)
                } else if let bytes = mount.sizeLimitBytes {
                    prepared.limits.append((mount.name, location, bytes))
                }
            }
            if let endpoint = storage.s3, !s3Mounts.isEmpty {
                prepared.environment.merge(try await s3Environment(endpoint, for: s3Mounts, userID: userID, timeoutSeconds: timeoutSeconds)) { _, new in new }
            }
        } catch {
            prepared.removeTemporary()
            throw error
        }
        return prepared
    }

    private func materialise(
        _ mount: PlacedMount, userID: UUID, projectID: UUID, attemptDirectory: String, into prepared: inout Prepared
    ) async throws -> String {
        switch mount.spec.type {
        case .pvc, .nfs:
            let directory = volumes.directory(of: mount) ?? attemptDirectory
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            return directory
        case .hostpath:
            return try resolvedHostPath(mount)
        case .memory:
            let base = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm" : attemptDirectory
            let directory = "\(base)/trainplat-\(UUID().uuidString.lowercased())"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            prepared.temporary.append(directory)
            return directory
        case .configmap, .secret:
            let directory = "\(attemptDirectory)/mounts/\(mount.spec.name)"
            try await writeObject(mount.spec, userID: userID, projectID: projectID, to: directory)
            prepared.temporary.append(directory)
            return directory
        case .s3:
            guard storage.s3 != nil else {
                throw StorageError("s3 mount \(mount.spec.name) needs an S3 endpoint; the administrator sets TRAINPLAT_S3_ENDPOINT")
            }
            return "s3://\(mount.root)/\(mount.subPath)/"
        }
    }

    /// The endpoint and credentials of a task's s3 mounts: with a role configured,
    /// temporary credentials that reach only these mounts' prefixes (one session for all of
    /// them), otherwise the endpoint's own.
    private func s3Environment(
        _ endpoint: StorageConfig.S3Endpoint, for mounts: [PlacedMount], userID: UUID, timeoutSeconds: Double?
    ) async throws -> [String: String] {
        var environment = ["AWS_ENDPOINT_URL": endpoint.url, "AWS_DEFAULT_REGION": endpoint.region]
        guard let role = endpoint.roleARN else {
            environment["AWS_ACCESS_KEY_ID"] = endpoint.accessKeyID
            environment["AWS_SECRET_ACCESS_KEY"] = endpoint.secretAccessKey
            return environment
        }
        let credentials = try await S3Client(endpoint: endpoint).assumeRole(
            role, policy: try S3SessionPolicy.json(for: mounts), sessionName: "trainplat-\(userID.uuidString.lowercased())",
            seconds: endpoint.sessionSeconds(taskTimeout: timeoutSeconds))
        environment["AWS_ACCESS_KEY_ID"] = credentials.accessKeyID
        environment["AWS_SECRET_ACCESS_KEY"] = credentials.secretAccessKey
        environment["AWS_SESSION_TOKEN"] = credentials.sessionToken
        return environment
    }

    /// The host path with every symbolic link resolved, still under its allowed root.
    private func resolvedHostPath(_ mount: PlacedMount) throws -> String {
        guard let resolved = realPath(mount.root) else { throw StorageError("host path '\(mount.root)' does not exist") }
        let roots = storage.policy.hostPathRoots.compactMap { realPath($0.path) }
        guard roots.contains(where: { resolved.isPath(within: $0) }) else {
            throw StorageError("host path '\(mount.root)' resolves to '\(resolved)', outside every allowed root")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StorageError("host path '\(mount.root)' is not a directory")
        }
        return resolved
    }

    private func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Writes a saved configmap's or secret's files, 0400 in a 0500 directory.
    private func writeObject(_ spec: MountSpec, userID: UUID, projectID: UUID, to directory: String) async throws {
        guard let saved = try await StorageMount.saved(spec, userID: userID, projectID: projectID, on: database) else {
            throw StorageError("\(spec.type.rawValue) '\(spec.source)' does not exist for this user in this project; create it with POST /api/v1/projects/{project}/mounts")
        }
        let files = try MountData.files(of: saved, secrets: secrets)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (name, content) in files {
            let path = "\(directory)/\(name)"
            guard FileManager.default.createFile(atPath: path, contents: Data(content.utf8), attributes: [.posixPermissions: 0o400]) else {
                throw StorageError("could not write \(spec.type.rawValue) file '\(name)'")
            }
        }
        chmod(directory, 0o500)
    }
}
