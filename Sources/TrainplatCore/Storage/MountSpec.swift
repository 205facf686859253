/// The seven kinds of storage a task can mount (Cube-Studio's set).
public enum MountType: String, CaseIterable, Sendable, Codable {
    case pvc, hostpath, configmap, secret, memory, nfs, s3

    /// Kinds whose content the platform writes and the task only reads.
    var isAlwaysReadOnly: Bool { self == .configmap || self == .secret }
}

/// One validated mount, before it is placed for an owner (`MountPlacement`). `source` is
/// type-specific: a claim with an optional sub-path (pvc), an absolute host path (hostpath),
/// an object name (configmap, secret), a size (memory), `server/export/path` (nfs) or
/// `bucket/prefix` (s3).
public struct MountSpec: Sendable, Hashable {
    /// Upper-case; the task sees the mount as `TRAINPLAT_MOUNT_<name>`.
    public var name: String
    public var type: MountType
    public var source: String
    public var mountPath: String
    public var readOnly: Bool
    /// The most bytes the mount may hold while a task runs: a memory mount's size, or the
    /// optional `size_limit` of the structured form.
    public var sizeLimitBytes: Int64?

    public init(name: String, type: MountType, source: String, mountPath: String, readOnly: Bool = false, sizeLimitBytes: Int64? = nil) {
        self.name = name
        self.type = type
        self.source = source
        self.mountPath = mountPath
        self.readOnly = readOnly
        self.sizeLimitBytes = sizeLimitBytes
    }

    /// Cube-Studio's string form, normalised: `source(type):/mount/path`, `:ro` when read-only
    /// (configmap and secret mounts are read-only by nature, so they never carry it).
    public var text: String {
        let mode = readOnly && !type.isAlwaysReadOnly ? ":ro" : ""
        return "\(source)(\(type.rawValue)):\(mountPath)\(mode)"
    }

    /// The structured form; what a spec's hash covers and what the API returns.
    public var structured: JSONObject {
        var fields: JSONObject = [
            "name": .string(name), "type": .string(type.rawValue), "source": .string(source),
            "mount_path": .string(mountPath), "read_only": .bool(readOnly),
        ]
        if let sizeLimitBytes { fields["size_limit"] = .int(Int(sizeLimitBytes)) }
        return fields
    }
}

/// Why a mount spec (or a storage setting) was refused; the message names the entry and
/// the offending part.
public struct StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
