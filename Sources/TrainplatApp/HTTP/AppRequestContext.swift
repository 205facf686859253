import FluentKit
import Foundation
import Hummingbird
import TrainplatCore

/// The request context of every route: Hummingbird's core storage plus who is calling.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `AuthMiddleware` when the request carried a valid credential.
    var identity: Identity?
    /// The peer, for the audit log.
    let remoteAddress: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        identity = nil
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    /// The caller, or 401 when the request is anonymous.
    func requireIdentity() throws -> Identity {
        guard let identity else { throw Problem.unauthorized("this route needs a bearer token or API key") }
        return identity
    }
}

extension Router {
    /// Reads a UUID path parameter, answering 404 (not 400) for malformed ids so that a
    /// bad id and a missing one look alike to the caller.
    static func uuid(_ name: String, in context: some RequestContext, resource: String) throws -> UUID {
        let text = context.parameters.get(name) ?? ""
        guard let id = UUID(uuidString: text) else { throw NotFound(resource: resource, id: text) }
        return id
    }
}

/// Encodes DTOs as snake_case JSON with ISO-8601 dates and sorted keys.
struct JSONResponse<Value: Encodable & Sendable>: ResponseGenerator {
    var value: Value
    var status: HTTPResponse.Status = .ok

    init(_ value: Value, status: HTTPResponse.Status = .ok) {
        self.value = value
        self.status = status
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Decodes a JSON request body into a DTO, answering 400 with the offending field.
enum RequestBody {
    static let maxBytes = 1 << 20

    static func decode<Value: Decodable>(_ type: Value.Type, from request: Request) async throws -> Value {
        let buffer = try await request.body.collect(upTo: maxBytes)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .iso8601
        // No body at all means "no fields": routes whose fields are all optional accept it.
        let data = buffer.readableBytes == 0 ? Data("{}".utf8) : Data(buffer.readableBytesView)
        let value: Value
        do {
            value = try decoder.decode(type, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw Problem(status: .badRequest, title: "Bad request", detail: "field '\(key.stringValue.snakeCased)' is required")
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            let path = context.codingPath.map(\.stringValue.snakeCased).joined(separator: ".")
            throw Problem(status: .badRequest, title: "Bad request", detail: "field '\(path)' has an invalid value")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let path = context.codingPath.map(\.stringValue.snakeCased).joined(separator: ".")
            throw Problem(status: .badRequest, title: "Bad request", detail: "field '\(path)' has the wrong type: \(context.debugDescription)")
        } catch {
            throw Problem(status: .badRequest, title: "Bad request", detail: "the body is not the expected JSON object")
        }
        try UnknownFields.reject(in: try JSONSerialization.jsonObject(with: data), declaredBy: value, at: "")
        return value
    }
}

/// JSONDecoder ignores keys a DTO does not declare, so a misspelt optional field (`userID`
/// for `user_id`) would silently do nothing. The decoded value's stored properties are the
/// fields its synthesised `Decodable` reads, so every key of the body must name one of them.
enum UnknownFields {
    static func reject(in json: Any, declaredBy value: Any, at path: String) throws {
        let mirror = Mirror(reflecting: unwrapped(value))
        switch (json, mirror.displayStyle) {
        case (let object as [String: Any], .struct?):
            let fields = Dictionary(mirror.children.compactMap { child in child.label.map { ($0, child.value) } }, uniquingKeysWith: { first, _ in first })
            for key in object.keys.sorted() {
                let fieldPath = path.isEmpty ? key : "\(path).\(key)"
                guard let field = fields[key.camelCasedLikeJSONDecoder], let nested = object[key] else {
                    let known = fields.keys.map(\.snakeCased).sorted().joined(separator: ", ")
                    throw Problem(status: .badRequest, title: "Bad request", detail: "unknown field '\(fieldPath)'; the fields here are: \(known)")
                }
                try reject(in: nested, declaredBy: field, at: fieldPath)
            }
        case (let array as [Any], .collection?):
            for (index, (element, decoded)) in zip(array, mirror.children.map(\.value)).enumerated() {
                try reject(in: element, declaredBy: decoded, at: "\(path)[\(index)]")
            }
        default:
            // Dictionaries, enums and scalars hold user data, not field names.
            return
        }
    }

    private static func unwrapped(_ value: Any) -> Any {
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional else { return value }
        return mirror.children.first.map { unwrapped($0.value) } ?? value
    }
}

extension String {
    /// What `.convertFromSnakeCase` turns a body key into: `user_id` -> `userId`.
    fileprivate var camelCasedLikeJSONDecoder: String {
        let words = split(separator: "_", omittingEmptySubsequences: false)
        guard let first = words.first, words.count > 1 else { return self }
        return String(first) + words.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    fileprivate var snakeCased: String {
        unicodeScalars.reduce(into: "") { result, scalar in
            if CharacterSet.uppercaseLetters.contains(scalar) {
                result += "_" + String(scalar).lowercased()
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
}

/// A page of a list endpoint: `limit` items from `offset` in the list's order, and how many
/// there are in all.
struct Page<Item> {
    var items: [Item]
    var total: Int
    var limit: Int
    var offset: Int

    func map<Other>(_ transform: (Item) throws -> Other) rethrows -> Page<Other> {
        Page<Other>(items: try items.map(transform), total: total, limit: limit, offset: offset)
    }
}

/// `?limit=` (1-500, default 100) and `?offset=` (default 0), the same on every list.
struct PageRequest: Sendable {
    static let defaultLimit = 100
    static let maxLimit = 500

    var limit = PageRequest.defaultLimit
    var offset = 0

    init(limit: Int = PageRequest.defaultLimit, offset: Int = 0) {
        self.limit = limit
        self.offset = offset
    }

    init(_ request: Request) throws {
        limit = try request.queryInteger("limit", in: 1...Self.maxLimit) ?? Self.defaultLimit
        offset = try request.queryInteger("offset", in: 0...Int(Int32.max)) ?? 0
    }

    /// Counts the query's rows, then reads this page of them (the query carries its sort).
    func page<M: Model>(_ query: QueryBuilder<M>) async throws -> Page<M> {
        let total = try await query.count()
        let items = try await query.range(offset..<(offset + limit)).all()
        return Page(items: items, total: total, limit: limit, offset: offset)
    }
}

extension Page: Encodable where Item: Encodable {}
extension Page: Sendable where Item: Sendable {}

/// Query parameters read the same way on every route: absent is nil, anything unreadable is
/// a 400 naming the parameter and what it must be.
extension Request {
    func queryInteger(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = uri.queryParameters.get(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw Self.badQuery(name, "a whole number in \(range.lowerBound)...\(range.upperBound)", text)
        }
        return value
    }

    func queryNumber(_ name: String) throws -> Double? {
        guard let text = uri.queryParameters.get(name) else { return nil }
        guard let value = Double(text), value.isFinite else { throw Self.badQuery(name, "a number", text) }
        return value
    }

    func queryDate(_ name: String) throws -> Date? {
        guard let text = uri.queryParameters.get(name) else { return nil }
        guard let value = try? Date(text, strategy: .iso8601) else { throw Self.badQuery(name, "an ISO-8601 time", text) }
        return value
    }

    private static func badQuery(_ name: String, _ expected: String, _ text: String) -> Problem {
        Problem(status: .badRequest, title: "Bad request", detail: "query parameter '\(name)' must be \(expected), got '\(text)'")
    }
}

