import Foundation

/// The only names a template may use; nothing in a template executes code.
public enum TemplateReference: Sendable, Hashable {
    case param(String)
    case taskOutput(task: String, output: String)
    case runID
    /// `run.logical_time`, optionally shifted: `{{ run.logical_time - 1d }}`.
    case logicalTime(offsetSeconds: Double)
}

public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    public init(message: String) {
        self.message = message
    }
}

/// What a template is rendered against when a task becomes ready.
public struct TemplateContext: Sendable {
    public var params: [String: JSONValue]
    public var taskOutputs: [String: [String: JSONValue]]
    public var runID: String
    public var logicalTime: Date

    public init(
        params: [String: JSONValue], taskOutputs: [String: [String: JSONValue]], runID: String,
        logicalTime: Date
    ) {
        self.params = params
        self.taskOutputs = taskOutputs
        self.runID = runID
        self.logicalTime = logicalTime
    }
}

/// `{{ params.x }}`, `{{ tasks.t.outputs.y }}`, `{{ run.id }}`, `{{ run.logical_time [+|-] 1d }}`.
public enum Template {
    private enum Segment {
        case literal(Substring)
        case reference(TemplateReference)
    }

    /// Every reference in `text`, or an error naming the first malformed expression.
    public static func references(in text: String) throws(TemplateError) -> [TemplateReference] {
        try segments(of: text).compactMap {
            if case .reference(let reference) = $0 { return reference }
            return nil
        }
    }

    /// Renders `text`. A string that is exactly one expression keeps the referenced value's
    /// JSON type (an int output stays an int); anything else renders to a string.
    public static func render(_ text: String, in context: TemplateContext) throws(TemplateError) -> JSONValue {
        let parts = try segments(of: text)
        if parts.count == 1, case .reference(let reference) = parts[0] {
            return try value(of: reference, in: context)
        }
        var rendered = ""
        for part in parts {
            switch part {
            case .literal(let literal): rendered += literal
            case .reference(let reference): rendered += try value(of: reference, in: context).templateText
            }
        }
        return .string(rendered)
    }

    /// Renders every string inside `value`, recursively.
    public static func render(value: JSONValue, in context: TemplateContext) throws(TemplateError) -> JSONValue {
        switch value {
        case .string(let text): return try render(text, in: context)
        case .array(let items):
            var rendered: [JSONValue] = []
            for item in items { rendered.append(try render(value: item, in: context)) }
            return .array(rendered)
        case .object(let fields):
            var rendered: [String: JSONValue] = [:]
            for (key, item) in fields { rendered[key] = try render(value: item, in: context) }
            return .object(rendered)
        default: return value
        }
    }

    public static func formatTimestamp(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .omitted))
    }

    private static func value(of reference: TemplateReference, in context: TemplateContext) throws(TemplateError) -> JSONValue {
        switch reference {
        case .param(let name):
            guard let value = context.params[name] else { throw TemplateError(message: "parameter '\(name)' has no value") }
            return value
        case .taskOutput(let task, let output):
            guard let value = context.taskOutputs[task]?[output] else {
                throw TemplateError(message: "task '\(task)' produced no output '\(output)'")
            }
            return value
        case .runID:
            return .string(context.runID)
        case .logicalTime(let offset):
            return .string(formatTimestamp(context.logicalTime.addingTimeInterval(offset)))
        }
    }

    /// Whether `text` opens an expression (`{{`) at all; text that does not is all literal.
    public static func mayHoldTemplate(_ text: String) -> Bool {
        firstPair(of: UInt8(ascii: "{"), in: text[...]) != nil
    }

    /// Where `byte` first appears twice in a row (`{{`, `}}`), by a plain scan of the bytes:
    /// Foundation's `range(of:)` (through CFString) and the standard library's generic
    /// `firstRange(of:)` each cost a tenth of validating a 10,000-task spec, and so did
    /// stepping `String.Index` byte by byte; every string of every task is scanned.
    private static func firstPair(of byte: UInt8, in text: Substring) -> Range<String.Index>? {
        let utf8 = text.utf8
        let found: Int?? = utf8.withContiguousStorageIfAvailable { bytes in
            guard bytes.count > 1 else { return nil }
            return (1..<bytes.count).first { bytes[$0] == byte && bytes[$0 - 1] == byte }
        }
        let second = found ?? utf8.indices.dropFirst().first { utf8[$0] == byte && utf8[utf8.index(before: $0)] == byte }
            .map { utf8.distance(from: utf8.startIndex, to: $0) }
        guard let second else { return nil }
        let end = utf8.index(utf8.startIndex, offsetBy: second + 1)
        return utf8.index(end, offsetBy: -2)..<end
    }

    private static func segments(of text: String) throws(TemplateError) -> [Segment] {
        var result: [Segment] = []
        var rest = text[...]
        while let open = firstPair(of: UInt8(ascii: "{"), in: rest) {
            if open.lowerBound > rest.startIndex { result.append(.literal(rest[..<open.lowerBound])) }
            guard let close = firstPair(of: UInt8(ascii: "}"), in: rest[open.upperBound...]) else {
                throw TemplateError(message: "unclosed '{{' in template '\(text)'")
            }
            let expression = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            result.append(.reference(try parse(expression: expression)))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { result.append(.literal(rest)) }
        return result
    }

    private static func parse(expression: String) throws(TemplateError) -> TemplateReference {
        let tokens = expression.split(separator: " ", omittingEmptySubsequences: true)
        let path = tokens.first.map { $0.split(separator: ".", omittingEmptySubsequences: false).map(String.init) } ?? []
        let allowed = "allowed: params.NAME, tasks.TASK.outputs.NAME, run.id, run.logical_time [+|- DURATION]"
        if path == ["run", "logical_time"] {
            return .logicalTime(offsetSeconds: try offset(tokens.dropFirst(), expression: expression))
        }
        guard tokens.count == 1, path.allSatisfy(SpecNames.isIdentifier) else {
            throw TemplateError(message: "unsupported template expression '{{ \(expression) }}' (\(allowed))")
        }
        switch (path.first, path.count) {
        case ("params", 2): return .param(path[1])
        case ("tasks", 4) where path[2] == "outputs": return .taskOutput(task: path[1], output: path[3])
        case ("run", 2) where path[1] == "id": return .runID
        default: throw TemplateError(message: "unknown template name '\(expression)' (\(allowed))")
        }
    }

    private static func offset(_ tokens: ArraySlice<Substring>, expression: String) throws(TemplateError) -> Double {
        if tokens.isEmpty { return 0 }
        guard tokens.count == 2, let sign = ["+": 1.0, "-": -1.0][String(tokens.first ?? "")],
            let seconds = Quantities.durationSeconds(String(tokens.last ?? ""))
        else {
            throw TemplateError(message: "bad date arithmetic in '{{ \(expression) }}' (expected e.g. run.logical_time - 1d)")
        }
        return sign * seconds
    }
}

/// Naming rules shared by tasks, params, outputs.
public enum SpecNames {
    /// ASCII letters, digits, `_` and `-`, starting with a letter; at most 63 characters.
    /// Checked on the UTF-8 bytes: any byte of a non-ASCII character fails every test.
    public static func isIdentifier(_ name: String) -> Bool {
        let bytes = name.utf8
        guard let first = bytes.first, bytes.count <= 63, isLetter(first) else { return false }
        return bytes.allSatisfy { isLetter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
}
