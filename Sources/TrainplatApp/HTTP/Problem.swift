import Foundation
import Hummingbird
import TrainplatCore

/// An RFC 9457 problem+json error response.
struct Problem: HTTPResponseError, Encodable {
    var status: HTTPResponse.Status
    var title: String
    var detail: String
    var issues: [SpecIssue]?
    /// Extra response headers (`WWW-Authenticate`, `Retry-After`); not part of the body.
    var headers: HTTPFields = [:]

    static func unauthorized(_ detail: String) -> Problem {
        Problem(status: .unauthorized, title: "Unauthorized", detail: detail, headers: [.wwwAuthenticate: #"Bearer realm="trainplat""#])
    }

    enum CodingKeys: String, CodingKey {
        case type, title, status, detail, issues
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("about:blank", forKey: .type)
        try container.encode(title, forKey: .title)
        try container.encode(Int(status.code), forKey: .status)
        try container.encode(detail, forKey: .detail)
        try container.encodeIfPresent(issues, forKey: .issues)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = try encoder.encode(self)
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Turns every error a route throws into problem+json; unknown errors become a 500 that
/// names the request id instead of leaking internals.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return try Self.problem(for: error, context: context).response(from: request, context: context)
        }
    }

    static func problem(for error: any Error, context: Context) -> Problem {
        switch error {
        case let problem as Problem:
            return problem
        case let invalid as SpecValidationError:
            return Problem(status: .unprocessableContent, title: "Invalid pipeline spec", detail: invalid.description, issues: invalid.issues)
        case let missing as NotFound:
            return Problem(status: .notFound, title: "Not found", detail: missing.description)
        case let http as HTTPError:
            return Problem(status: http.status, title: http.status.reasonPhrase, detail: http.body ?? http.status.reasonPhrase)
        default:
            context.logger.error("unhandled error", metadata: ["error": "\(error)"])
            return Problem(status: .internalServerError, title: "Internal error", detail: "request \(context.id) failed; see the server log")
        }
    }
}
