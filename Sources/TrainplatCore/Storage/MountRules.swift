/// The checks every part of a mount spec passes. They are deliberately narrower than POSIX:
/// a path is plain ASCII segments of `[A-Za-z0-9._-]`, so look-alike Unicode, encoded
/// separators, NUL, `..` and friends never reach a filesystem or a Kubernetes manifest.
enum MountRules {
    static let maxEntryBytes = 1024
    static let maxPathBytes = 255
    static let maxMounts = 32

    /// Refuses control characters, non-ASCII (look-alike slashes and dots, direction
    /// overrides), percent-encoding and backslashes anywhere in `text`.
    static func checkCharacters(_ text: String, what: String) throws(StorageError) {
        guard text.utf8.count <= maxEntryBytes else {
            throw StorageError("\(what) is \(text.utf8.count) bytes; the limit is \(maxEntryBytes)")
        }
        for scalar in text.unicodeScalars {
            let hex = "U+" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4)
            if scalar.value < 0x20 || scalar.value == 0x7F {
                throw StorageError("\(what) contains the control character \(hex)")
            }
            if !scalar.isASCII {
                throw StorageError("\(what) contains the non-ASCII character \(hex); mount specs accept ASCII only")
            }
            if scalar == "%" { throw StorageError("\(what) contains '%': percent-encoded characters are not accepted") }
            if scalar == "\\" { throw StorageError("\(what) contains '\\': use '/' as the separator") }
        }
    }

    /// The segments of an absolute path, each checked.
    static func absolutePath(_ path: String, what: String) throws(StorageError) -> [String] {
        guard path.hasPrefix("/") else { throw StorageError("\(what) '\(path)' must be an absolute path") }
        guard path.utf8.count <= maxPathBytes else {
            throw StorageError("\(what) is \(path.utf8.count) bytes long; the limit is \(maxPathBytes)")
        }
        guard path != "/" else { throw StorageError("\(what) must not be '/'") }
        return try segments(of: String(path.dropFirst()), in: path, what: what)
    }

    /// The segments of a relative path (a sub-path or prefix), each checked; empty is fine.
    static func relativePath(_ path: String, what: String) throws(StorageError) -> [String] {
        guard !path.isEmpty else { return [] }
        guard path.utf8.count <= maxPathBytes else {
            throw StorageError("\(what) is \(path.utf8.count) bytes long; the limit is \(maxPathBytes)")
        }
        return try segments(of: path, in: path, what: what)
    }

    private static func segments(of body: String, in path: String, what: String) throws(StorageError) -> [String] {
        // A trailing slash is harmless; an empty segment inside is a typo or a trick.
        let trimmed = body.hasSuffix("/") ? String(body.dropLast()) : body
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for part in parts {
            if part.isEmpty { throw StorageError("\(what) '\(path)' contains an empty segment ('//')") }
            if part == "." || part == ".." { throw StorageError("\(what) '\(path)' contains '\(part)'; paths must not step outside") }
            if let bad = part.unicodeScalars.first(where: { !isSegmentCharacter($0) }) {
                throw StorageError("\(what) '\(path)' contains '\(bad)'; path segments use letters, digits, '.', '_' and '-'")
            }
        }
        return parts
    }

    private static func isSegmentCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": true
        default: false
        }
    }

    /// System locations no mount may cover: they would hide the image's own files or expose
    /// the kernel's. `/dev/shm` is for memory mounts; `/etc/<dir>` for configmaps and secrets.
    static func checkMountPath(_ path: String, type: MountType) throws(StorageError) {
        let segments = try absolutePath(path, what: "mount path")
        let top = "/" + segments[0]
        if type == .memory, path == "/dev/shm" { return }
        if top == "/etc", segments.count >= 2, type.isAlwaysReadOnly { return }
        if reservedTops.contains(top) || (top == "/var" && segments.count >= 2 && segments[1] == "run") {
            throw StorageError("mount path '\(path)' is inside the reserved system location '\(top)'")
        }
    }

    private static let reservedTops: Set<String> = [
        "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/root", "/run", "/sbin", "/sys", "/usr",
    ]

    /// A Kubernetes object name segment (RFC 1123 label): PVC claims.
    static func checkLabel(_ name: String, what: String) throws(StorageError) {
        guard !name.isEmpty, name.utf8.count <= 63, isLabel(name) else {
            throw StorageError("\(what) '\(name)' must be 1-63 lower-case letters, digits or '-', starting and ending alphanumeric")
        }
    }

    /// A Kubernetes object name (RFC 1123 subdomain): configmaps and secrets.
    static func checkSubdomain(_ name: String, what: String) throws(StorageError) {
        guard !name.isEmpty, name.utf8.count <= 253, name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ isLabel(String($0)) })
        else {
            throw StorageError("\(what) '\(name)' must be a DNS subdomain: lower-case letters, digits, '-' and '.', at most 253")
        }
    }

    /// An NFS server: a host name or an IPv4 address.
    static func checkHost(_ host: String) throws(StorageError) {
        let labels = host.lowercased().split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !host.isEmpty, host.utf8.count <= 253, labels.allSatisfy({ $0.utf8.count <= 63 && isLabel($0) }) else {
            throw StorageError("nfs server '\(host)' is not a host name or IPv4 address")
        }
    }

    /// An S3 bucket name (the AWS rules MinIO follows too).
    static func checkBucket(_ bucket: String) throws(StorageError) {
        let dotted = bucket.split(separator: ".", omittingEmptySubsequences: false)
        let looksLikeIP = dotted.count == 4 && dotted.allSatisfy { UInt8($0) != nil }
        guard (3...63).contains(bucket.utf8.count), dotted.allSatisfy({ isLabel(String($0)) }), !looksLikeIP else {
            throw StorageError("s3 bucket '\(bucket)' must be 3-63 lower-case letters, digits, '-' and '.', and not an IP address")
        }
    }

    private static func isLabel(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last else { return false }
        let isAlnum: (Unicode.Scalar) -> Bool = { ("a"..."z").contains($0) || ("0"..."9").contains($0) }
        return isAlnum(first) && isAlnum(last) && text.unicodeScalars.allSatisfy { isAlnum($0) || $0 == "-" }
    }

    /// `TRAINPLAT_MOUNT_<NAME>`: upper-case letters, digits and `_`, starting with a letter.
    static func checkName(_ name: String) throws(StorageError) {
        let valid = name.utf8.count <= 63 && name.unicodeScalars.first.map { ("A"..."Z").contains($0) } == true
            && name.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
        guard valid else { throw StorageError("mount name '\(name)' must be a letter then letters, digits or '_' (at most 63)") }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: Swift.max(0, width - count)) + self
    }
}
