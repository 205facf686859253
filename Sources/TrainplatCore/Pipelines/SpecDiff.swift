/// What changed between two versions of a pipeline, field by field, over their canonical
/// forms (so formatting and key order never show up as changes).
public struct SpecChange: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case added, removed, changed
    }

    /// Dotted path into the canonical spec, e.g. `tasks.train.with.epochs`.
    public var path: String
    public var kind: Kind
    public var old: JSONValue?
    public var new: JSONValue?
}

extension PipelineSpec {
    /// The changes that turn `self` into `other`, sorted by path. Objects are compared key by
    /// key; lists and scalars as a whole.
    public func changes(to other: PipelineSpec) -> [SpecChange] {
        var changes: [SpecChange] = []
        Self.diff(canonicalValue(), other.canonicalValue(), path: "", into: &changes)
        return changes.sorted { $0.path < $1.path }
    }

    private static func diff(_ old: JSONValue, _ new: JSONValue, path: String, into changes: inout [SpecChange]) {
        guard case .object(let oldFields) = old, case .object(let newFields) = new else {
            if old != new { changes.append(SpecChange(path: path, kind: .changed, old: old, new: new)) }
            return
        }
        for key in Set(oldFields.keys).union(newFields.keys) {
            let child = path.isEmpty ? key : "\(path).\(key)"
            switch (oldFields[key], newFields[key]) {
            case (let before?, let after?): diff(before, after, path: child, into: &changes)
            case (let before?, nil): changes.append(SpecChange(path: child, kind: .removed, old: before, new: nil))
            case (nil, let after?): changes.append(SpecChange(path: child, kind: .added, old: nil, new: after))
            case (nil, nil): break
            }
        }
    }
}
