/// One problem found in a pipeline spec, located by its path (`tasks.train.needs[0]`) and,
/// for YAML input, by line and column (1-based).
public struct SpecIssue: Sendable, Hashable, Codable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var line: Int?
    public var column: Int?

    public init(path: String, message: String, line: Int? = nil, column: Int? = nil) {
        self.path = path
        self.message = message
        self.line = line
        self.column = column
    }

    public var description: String {
        let location = line.map { " (line \($0), column \(column ?? 0))" } ?? ""
        return "\(path.isEmpty ? "<root>" : path)\(location): \(message)"
    }
}

/// Thrown when a spec has at least one issue; carries all of them, not only the first.
public struct SpecValidationError: Error, Sendable, CustomStringConvertible {
    public var issues: [SpecIssue]

    public init(issues: [SpecIssue]) {
        self.issues = issues
    }

    public var description: String {
        "pipeline spec is invalid (\(issues.count) problem\(issues.count == 1 ? "" : "s")):\n"
            + issues.map { "  - \($0)" }.joined(separator: "\n")
    }
}
