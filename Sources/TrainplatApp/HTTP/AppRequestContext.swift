import Hummingbird

/// The request context of every route; auth adds the caller's identity here later.
public typealias AppRequestContext = BasicRequestContext

extension Router {
    /// Reads a UUID path parameter, answering 404 (not 400) for malformed ids so that a
    /// bad id and a missing one look alike to the caller.
    static func uuid(_ name: String, in context: some RequestContext, resource: String) throws -> UUID {
        let text = context.parameters.get(name) ?? ""
        guard let id = UUID(uuidString: text) else { throw NotFound(resource: resource, id: text) }
        return id
    }
}

import Foundation

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

/// A page of a list endpoint.
struct Page<Item: Encodable & Sendable>: Encodable, Sendable {
    var items: [Item]
    var total: Int
}
