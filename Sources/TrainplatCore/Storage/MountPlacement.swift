import Foundation

/// Who a mount belongs to; its data lives under `project_<project>/user_<user>` of every
/// shared volume, claim, export or bucket (the seed's `/mnt/user_<id>/...`).
public struct MountOwner: Sendable, Hashable {
    public let userID: String
    public let projectID: String

    public init(userID: String, projectID: String) {
        self.userID = userID.lowercased()
        self.projectID = projectID.lowercased()
    }

    /// The owner's directory below a volume's root.
    public var directory: String { "project_\(projectID)/user_\(userID)" }
}

/// What an administrator allows beyond the owner's own space.
public struct StoragePolicy: Sendable, Equatable {
    public struct HostRoot: Sendable, Equatable {
        public let path: String
        public let readOnly: Bool

        public init(path: String, readOnly: Bool) {
            self.path = path
            self.readOnly = readOnly
        }
    }

    public var hostPathRoots: [HostRoot]
    /// `server/export/path` entries; nfs mounts must name one of them or a path below it.
    public var nfsExports: [String]
    public var s3Buckets: [String]
    public var maxMemoryBytes: Int64

    public init(hostPathRoots: [HostRoot] = [], nfsExports: [String] = [], s3Buckets: [String] = [], maxMemoryBytes: Int64 = 16 << 30) {
        self.hostPathRoots = hostPathRoots
        self.nfsExports = nfsExports
        self.s3Buckets = s3Buckets
        self.maxMemoryBytes = maxMemoryBytes
    }

    /// `TRAINPLAT_HOSTPATH_ROOTS`-style text: `/data/shared:ro,/scratch`.
    public static func hostRoots(_ text: String) throws(StorageError) -> [HostRoot] {
        var roots: [HostRoot] = []
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            let (path, mode) = entry.splitOnce(":")
            guard ["", "ro", "rw"].contains(mode) else { throw StorageError("host path root '\(entry)' has the unknown mode '\(mode)'") }
            _ = try MountRules.absolutePath(path, what: "host path root")
            roots.append(HostRoot(path: path, readOnly: mode == "ro"))
        }
        return roots
    }
}

/// A mount placed for its owner: `root` is the claim, `server:/export`, bucket or host path;
/// `subPath` is where below it the task's view starts.
public struct PlacedMount: Sendable, Hashable {
    public let spec: MountSpec
    public let root: String
    public let subPath: String
    public let readOnly: Bool
}

public enum MountPlacement {
    /// Confines `mount` to `owner` and checks it against `policy`.
    public static func place(_ mount: MountSpec, owner: MountOwner, policy: StoragePolicy) throws(StorageError) -> PlacedMount {
        let (head, rest) = mount.source.splitOnce("/")
        let ownerPath = { (below: String) in below.isEmpty ? owner.directory : "\(owner.directory)/\(below)" }
        switch mount.type {
        case .pvc:
            return PlacedMount(spec: mount, root: head, subPath: ownerPath(rest), readOnly: mount.readOnly)
        case .nfs:
            let path = "/" + rest
            guard let export = policy.nfsExports.first(where: { export in
                let (server, exportPath) = export.splitOnce("/")
                return server == head && path.isPath(within: "/" + exportPath)
            }) else {
                throw StorageError("nfs export '\(mount.source)' is not under a configured export (TRAINPLAT_NFS_EXPORTS)")
            }
            let (server, exportPath) = export.splitOnce("/")
            let below = String(path.dropFirst(exportPath.count + 1)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            return PlacedMount(spec: mount, root: "\(server):/\(exportPath)", subPath: ownerPath(below), readOnly: mount.readOnly)
        case .s3:
            guard policy.s3Buckets.contains(head) else {
                throw StorageError("s3 bucket '\(head)' is not a configured bucket (TRAINPLAT_S3_BUCKETS)")
            }
            return PlacedMount(spec: mount, root: head, subPath: ownerPath(rest), readOnly: mount.readOnly)
        case .hostpath:
            guard let root = policy.hostPathRoots.first(where: { mount.source.isPath(within: $0.path) }) else {
                let roots = policy.hostPathRoots.map(\.path).joined(separator: ", ")
                throw StorageError("host path '\(mount.source)' is not under an allowed root (\(roots.isEmpty ? "none configured" : roots))")
            }
            return PlacedMount(spec: mount, root: mount.source, subPath: "", readOnly: mount.readOnly || root.readOnly)
        case .memory:
            let size = mount.sizeLimitBytes ?? 0
            guard size <= policy.maxMemoryBytes else {
                throw StorageError("memory mount of \(size) bytes exceeds the limit of \(policy.maxMemoryBytes) bytes")
            }
            return PlacedMount(spec: mount, root: "", subPath: "", readOnly: mount.readOnly)
        case .configmap, .secret:
            return PlacedMount(spec: mount, root: mount.source, subPath: "", readOnly: true)
        }
    }
}
