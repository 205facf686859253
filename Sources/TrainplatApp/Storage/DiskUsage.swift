import CFileTree
import Foundation

/// Bytes and entries below a path, counted like `du -sb` (see `tp_tree_usage`).
public struct DiskUsage: Sendable, Equatable, Codable {
    public var bytes: Int64
    public var entries: Int64

    static let zero = DiskUsage(bytes: 0, entries: 0)

    /// A path that does not exist holds nothing; other failures are errors.
    public static func measure(_ path: String) throws -> DiskUsage {
        var usage = tp_tree_usage_t()
        let status = tp_tree_usage(path, &usage)
        if status == ENOENT { return .zero }
        guard status == 0 else { throw UsageError(path: path, reason: String(cString: strerror(status))) }
        return DiskUsage(bytes: Int64(clamping: usage.bytes), entries: Int64(clamping: usage.entries))
    }

    static func + (left: DiskUsage, right: DiskUsage) -> DiskUsage {
        DiskUsage(bytes: left.bytes + right.bytes, entries: left.entries + right.entries)
    }

    struct UsageError: Error, CustomStringConvertible {
        var path: String
        var reason: String
        var description: String { "could not measure \(path): \(reason)" }
    }
}
