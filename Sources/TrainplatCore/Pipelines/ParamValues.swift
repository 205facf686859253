import Foundation

/// Checks and resolves the parameters a run is started with against the spec's `params`.
public enum ParamValues {
    /// Nil when `value` fits `param`, else what is wrong with it.
    public static func problem(with value: JSONValue, for param: ParamSpec) -> String? {
        switch (param.kind, value) {
        case (.string, .string), (.int, .int), (.float, .int), (.float, .double), (.bool, .bool):
            return nil
        case (.datetime, .string(let text)):
            return parseTimestamp(text) == nil ? "'\(text)' is not an ISO-8601 date-time with a time zone (e.g. 2026-11-28T00:00:00Z)" : nil
        case (.enum, .string(let text)):
            return param.allowed.contains(text) ? nil : "'\(text)' is not one of \(param.allowed.joined(separator: ", "))"
        default:
            return "expected a value of type \(param.kind.rawValue), got \(value.canonicalJSON())"
        }
    }

    /// Defaults filled in, every value checked; throws one issue per bad or missing parameter.
    public static func resolve(_ given: [String: JSONValue], against params: [ParamSpec]) throws(SpecValidationError) -> [String: JSONValue] {
        var issues: [SpecIssue] = []
        var resolved: [String: JSONValue] = [:]
        let declared = Set(params.map(\.name))
        for name in given.keys.sorted() where !declared.contains(name) {
            issues.append(SpecIssue(path: "params.\(name)", message: "the pipeline declares no parameter '\(name)'"))
        }
        for param in params {
            guard let value = given[param.name] ?? param.defaultValue else {
                issues.append(SpecIssue(path: "params.\(param.name)", message: "required parameter of type \(param.kind.rawValue) is missing"))
                continue
            }
            if let problem = problem(with: value, for: param) {
                issues.append(SpecIssue(path: "params.\(param.name)", message: problem))
            }
            resolved[param.name] = value
        }
        if !issues.isEmpty { throw SpecValidationError(issues: issues) }
        return resolved
    }

    public static func parseTimestamp(_ text: String) -> Date? {
        let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        return (try? Date.ISO8601FormatStyle().parse(text)) ?? (try? withFraction.parse(text))
    }
}
