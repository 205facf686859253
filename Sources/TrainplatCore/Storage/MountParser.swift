import Foundation

/// Parses mounts from Cube-Studio's string form (`source(type):/mount/path[:ro]`, entries
/// separated by `,` or `;`) and from the structured form (`{type, source, mount_path,
/// read_only, size_limit, name}`) into validated `MountSpec`s. Owner-independent checks
/// only; `MountPlacement` adds the owner's confinement and the admin's allow-lists.
public enum MountParser {
    /// A list in the string form.
    public static func parseList(_ text: String) throws(StorageError) -> [MountSpec] {
        let entries = text.split(whereSeparator: { $0 == "," || $0 == ";" })
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        var mounts: [MountSpec] = []
        for (index, entry) in entries.enumerated() {
            do throws(StorageError) {
                mounts.append(try parse(entry: entry))
            } catch {
                throw StorageError("mount \(index + 1) of \(entries.count): \(error.message)")
            }
        }
        try checkSet(mounts)
        return mounts
    }

    /// A document as the CLI and the API take it: a JSON object or array (structured form,
    /// array items may also be strings), or the string form.
    public static func parse(document: String) throws(StorageError) -> [MountSpec] {
        let trimmed = document.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix("{") || trimmed.hasPrefix("[") else { return try parseList(trimmed) }
        let value: JSONValue
        do {
            value = try JSONValue.parse(json: trimmed)
        } catch {
            throw StorageError("mount spec looks like JSON but does not parse: \(error)")
        }
        let items = value.arrayValue ?? [value]
        var mounts: [MountSpec] = []
        for (index, item) in items.enumerated() {
            do throws(StorageError) {
                mounts += try parse(item: item)
            } catch {
                throw StorageError("mount \(index + 1) of \(items.count): \(error.message)")
            }
        }
        try checkSet(mounts)
        return mounts
    }

    /// One item of a structured list: a string entry (possibly several) or an object.
    public static func parse(item: JSONValue) throws(StorageError) -> [MountSpec] {
        if let text = item.stringValue { return try parseList(text) }
        guard let fields = item.objectValue else { throw StorageError("expected a string or an object, got \(item.canonicalJSON())") }
        return [try parse(structured: fields)]
    }

    /// One entry of the string form.
    public static func parse(entry: String) throws(StorageError) -> MountSpec {
        try MountRules.checkCharacters(entry, what: "mount '\(entry)'")
        guard let open = entry.firstIndex(of: "("), let close = entry[open...].firstIndex(of: ")"),
            entry[close...].hasPrefix("):")
        else {
            throw StorageError("mount '\(entry)' is not of the form source(type):/mount/path")
        }
        let source = String(entry[..<open])
        let typeText = String(entry[entry.index(after: open)..<close])
        let target = entry[entry.index(close, offsetBy: 2)...].split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard target.count <= 2 else { throw StorageError("mount '\(entry)' has more than one ':' after the mount path") }
        let readOnly: Bool
        switch target.count == 2 ? target[1] : "rw" {
        case "ro": readOnly = true
        case "rw": readOnly = false
        case let mode: throw StorageError("mount '\(entry)' has the unknown mode '\(mode)' (expected ro or rw)")
        }
        return try build(type: try type(typeText), source: source, mountPath: target[0], readOnly: readOnly)
    }

    private static let structuredKeys: Set<String> = ["name", "type", "source", "mount_path", "read_only", "size_limit"]

    /// One mount in the structured form.
    public static func parse(structured fields: JSONObject) throws(StorageError) -> MountSpec {
        if let unknown = fields.keys.sorted().first(where: { !structuredKeys.contains($0) }) {
            throw StorageError("unknown key '\(unknown)' (expected one of: \(structuredKeys.sorted().joined(separator: ", ")))")
        }
        let typeText = try stringField(fields, "type")
        let type = try type(typeText)
        let sizeLimit = try fields["size_limit"].map { value throws(StorageError) in try size(value) }
        // A memory mount's source is its size; the structured form may give it as size_limit.
        let source = type == .memory && fields["source"] == nil && sizeLimit != nil
            ? String(sizeLimit ?? 0) : try stringField(fields, "source")
        var readOnly = false
        if let value = fields["read_only"] {
            guard case .bool(let flag) = value else { throw StorageError("read_only must be true or false, got \(value.canonicalJSON())") }
            readOnly = flag
        }
        let name = try fields["name"].map { value throws(StorageError) in
            guard let text = value.stringValue else { throw StorageError("name must be a string") }
            return text
        }
        return try build(
            type: type, source: source, mountPath: try stringField(fields, "mount_path"), readOnly: readOnly, sizeLimit: sizeLimit,
            name: name)
    }

    /// Duplicate names and nested or equal mount paths make a set ambiguous.
    public static func checkSet(_ mounts: [MountSpec]) throws(StorageError) {
        guard mounts.count <= MountRules.maxMounts else {
            throw StorageError("\(mounts.count) mounts; the limit is \(MountRules.maxMounts) per task")
        }
        for (index, mount) in mounts.enumerated() {
            for other in mounts[..<index] {
                if other.mountPath.isPath(within: mount.mountPath) || mount.mountPath.isPath(within: other.mountPath) {
                    throw StorageError("mount paths '\(other.mountPath)' and '\(mount.mountPath)' overlap")
                }
                if other.name == mount.name {
                    throw StorageError("mounts '\(other.text)' and '\(mount.text)' are both named \(mount.name); give one an explicit name")
                }
            }
        }
    }

    /// A file name inside a configmap or secret mount: one path segment.
    public static func checkFileName(_ name: String) throws(StorageError) {
        try MountRules.checkCharacters(name, what: "data file name")
        let segments = try MountRules.relativePath(name, what: "data file name")
        guard segments.count == 1 else { throw StorageError("data file name '\(name)' must be one path segment") }
    }

    private static func type(_ text: String) throws(StorageError) -> MountType {
        guard let type = MountType(rawValue: text) else {
            let known = MountType.allCases.map(\.rawValue).joined(separator: ", ")
            throw StorageError("unknown mount type '\(text)' (expected one of \(known))")
        }
        return type
    }

    private static func stringField(_ fields: JSONObject, _ key: String) throws(StorageError) -> String {
        guard let value = fields[key] else { throw StorageError("\(key) is required") }
        guard let text = value.stringValue else { throw StorageError("\(key) must be a string, got \(value.canonicalJSON())") }
        return text
    }

    private static func size(_ value: JSONValue) throws(StorageError) -> Int64 {
        if let number = value.intValue, number > 0 { return Int64(number) }
        guard let text = value.stringValue, let bytes = Quantities.bytes(text) else {
            throw StorageError("size_limit \(value.canonicalJSON()) is not a size (e.g. 512Mi, 10G or a byte count)")
        }
        return bytes
    }

    /// Validates the parts of one mount and derives its name.
    static func build(
        type: MountType, source: String, mountPath: String, readOnly: Bool, sizeLimit: Int64? = nil, name: String? = nil
    ) throws(StorageError) -> MountSpec {
        for (text, what) in [(source, "source"), (mountPath, "mount path"), (name ?? "", "name")] {
            try MountRules.checkCharacters(text, what: what)
        }
        try MountRules.checkMountPath(mountPath, type: type)
        let memorySize = try checkSource(source, type: type)
        let finalName = name?.uppercased() ?? derivedName(mountPath)
        try MountRules.checkName(finalName)
        return MountSpec(
            name: finalName, type: type, source: source, mountPath: normalised(mountPath), readOnly: readOnly || type.isAlwaysReadOnly,
            sizeLimitBytes: memorySize ?? sizeLimit)
    }

    /// Type-specific source syntax; returns the size of a memory mount.
    private static func checkSource(_ source: String, type: MountType) throws(StorageError) -> Int64? {
        guard !source.isEmpty else { throw StorageError("a \(type.rawValue) mount needs a source") }
        let (head, rest) = source.splitOnce("/")
        switch type {
        case .pvc:
            try MountRules.checkLabel(head, what: "pvc claim")
            _ = try MountRules.relativePath(rest, what: "pvc sub-path")
        case .hostpath:
            _ = try MountRules.absolutePath(source, what: "host path")
        case .configmap, .secret:
            try MountRules.checkSubdomain(source, what: "\(type.rawValue) name")
        case .memory:
            guard let bytes = Quantities.bytes(source) else {
                throw StorageError("memory size '\(source)' is not a size (e.g. 512Mi, 10G)")
            }
            return bytes
        case .nfs:
            try MountRules.checkHost(head)
            guard !rest.isEmpty else { throw StorageError("nfs source '\(source)' needs an export path: server/export/path") }
            _ = try MountRules.absolutePath("/" + rest, what: "nfs export path")
        case .s3:
            try MountRules.checkBucket(head)
            _ = try MountRules.relativePath(rest, what: "s3 prefix")
        }
        return nil
    }

    /// `/mnt/models` -> `MODELS`; `/dev/shm` -> `SHM`; a leading digit gets `M_` before it.
    static func derivedName(_ mountPath: String) -> String {
        let last = mountPath.split(separator: "/").last.map(String.init) ?? "ROOT"
        let name = String(last.uppercased().unicodeScalars.map { ("A"..."Z").contains($0) || ("0"..."9").contains($0) ? Character($0) : "_" })
        return name.first?.isNumber == true || name.first == "_" ? "M_" + name : name
    }

    private static func normalised(_ path: String) -> String {
        path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }
}

extension String {
    /// The part before the first `separator` and the part after it ("" when absent).
    public func splitOnce(_ separator: Character) -> (String, String) {
        guard let index = firstIndex(of: separator) else { return (self, "") }
        return (String(self[..<index]), String(self[self.index(after: index)...]))
    }

    /// Whether this path is `other` or lies below it.
    public func isPath(within other: String) -> Bool {
        self == other || hasPrefix(other.hasSuffix("/") ? other : other + "/")
    }
}
