import Hummingbird

/// Reads `Authorization: Bearer <token or API key>` and sets the caller's identity. An
/// invalid credential is a 401 at once; no credential leaves the request anonymous, and
/// each route decides whether that is enough.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let auth: AuthService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else { return try await next(request, context) }
        guard header.hasPrefix("Bearer "), let identity = try await auth.identity(forBearer: String(header.dropFirst("Bearer ".count))) else {
            throw Problem(status: .unauthorized, title: "Unauthorized", detail: "the bearer credential is invalid, expired or revoked")
        }
        var context = context
        context.identity = identity
        context.logger[metadataKey: "user"] = .string(identity.username)
        return try await next(request, context)
    }
}
