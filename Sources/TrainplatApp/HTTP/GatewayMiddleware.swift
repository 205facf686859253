import Foundation
import HTTPTypes
import Hummingbird

/// Headers every response carries: no sniffing, no framing, no referrer leaks, no caching of
/// API answers, and a strict CSP unless the route set its own (the /docs page needs its
/// inline script and a fetch of /openapi.json).
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Names HTTPTypes does not predefine, parsed once.
    private let extraHeaders = [("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer")]
        .compactMap { name, value in HTTPField.Name(name).map { ($0, value) } }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.xContentTypeOptions] = "nosniff"
        for (name, value) in extraHeaders { response.headers[name] = value }
        if response.headers[.contentSecurityPolicy] == nil {
            response.headers[.contentSecurityPolicy] = "default-src 'none'; frame-ancestors 'none'"
        }
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

/// Refuses bodies over the limit before anything reads them (413), by their declared length;
/// routes also cap what they collect, which covers chunked bodies.
struct BodySizeLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBytes {
            throw Problem(status: .contentTooLarge, title: "Content too large", detail: "the body is \(length) bytes; the limit is \(maxBytes)")
        }
        return try await next(request, context)
    }
}

/// CORS for the browser UI: only configured origins, credentials by bearer header (no cookies).
struct CORSPolicyMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowedOrigins: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], allowedOrigins.contains(origin) else { return try await next(request, context) }
        var response: Response
        if request.method == .options {
            response = Response(status: .noContent)
            response.headers[.accessControlAllowMethods] = "GET, POST, PUT, DELETE"
            response.headers[.accessControlAllowHeaders] = "Authorization, Content-Type"
            response.headers[.accessControlMaxAge] = "600"
        } else {
            response = try await next(request, context)
        }
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.vary] = "Origin"
        return response
    }
}
