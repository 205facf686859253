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

    /// Deterministic JSON: keys sorted by their UTF-8 bytes, no insignificant whitespace
    /// (`CanonicalJSONWriter`).
    public func canonicalJSON() -> String {
        var writer = CanonicalJSONWriter()
        writer.value(self)
        return writer.text
    }

    public static func parse(json text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }
}

/// A JSON object. Database columns hold objects as this type rather than `JSONValue`: the
/// drivers decode keyed containers from JSON text, but hand a bare single-value decode the
/// raw text.
public typealias JSONObject = [String: JSONValue]
