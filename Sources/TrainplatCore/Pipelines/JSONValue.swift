import Foundation

/// A JSON value as it appears in pipeline specs, task inputs and task outputs.
///
/// Objects keep no order of their own: the canonical encoding sorts keys, so two specs
/// that differ only in key order hash to the same version.
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var intValue: Int? {
        if case .int(let value) = self { return value }
        return nil
    }

    public var doubleValue: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The text a template substitutes for this value: strings verbatim, everything else as JSON.
    public var templateText: String {
        if case .string(let value) = self { return value }
        return canonicalJSON()
    }

    /// Deterministic JSON: keys sorted by their UTF-8 bytes, no insignificant whitespace. The
    /// input of content hashes, so its bytes must never change: they are those
    /// `JSONEncoder` writes with `[.sortedKeys, .withoutEscapingSlashes]` (tests compare the
    /// two), written directly because the encoder took a fifth of validating a 10,000-task
    /// spec. Non-finite doubles, which the encoder refuses, are written as the strings
    /// "NaN", "Infinity" and "-Infinity".
    public func canonicalJSON() -> String {
        var output: [UInt8] = []
        writeCanonical(to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    private func writeCanonical(to output: inout [UInt8]) {
        switch self {
        case .null: output += "null".utf8
        case .bool(let value): output += (value ? "true" : "false").utf8
        case .int(let value): output += String(value).utf8
        case .double(let value): output += Self.canonicalNumber(value).utf8
        case .string(let value): Self.writeString(value, to: &output)
        case .array(let values):
            output.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                value.writeCanonical(to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let fields):
            output.append(UInt8(ascii: "{"))
            for (index, field) in fields.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                Self.writeString(field.key, to: &output)
                output.append(UInt8(ascii: ":"))
                field.value.writeCanonical(to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// Doubles are rare in specs: the encoder formats them (shortest round-trip form).
    private static func canonicalNumber(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "\"NaN\"" : value < 0 ? "\"-Infinity\"" : "\"Infinity\"" }
        let text = (try? JSONEncoder().encode(value)).map { String(decoding: $0, as: UTF8.self) }
        return text ?? String(value)
    }

    /// Byte by byte: every byte of a multi-byte UTF-8 sequence is 0x80 or more, so only
    /// ASCII quotes, backslashes and control characters are escaped.
    private static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += #"\""#.utf8
            case UInt8(ascii: "\\"): output += #"\\"#.utf8
            case 0x08: output += #"\b"#.utf8
            case 0x09: output += #"\t"#.utf8
            case 0x0A: output += #"\n"#.utf8
            case 0x0C: output += #"\f"#.utf8
            case 0x0D: output += #"\r"#.utf8
            case 0..<0x20: output += String(format: "\\u%04x", byte).utf8
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    public static func parse(json text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }
}

/// A JSON object. Database columns hold objects as this type rather than `JSONValue`: the
/// drivers decode keyed containers from JSON text, but hand a bare single-value decode the
/// raw text.
public typealias JSONObject = [String: JSONValue]
