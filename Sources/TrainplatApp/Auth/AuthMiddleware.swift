import Hummingbird

/// Reads `Authorization: Bearer <token or API key>` and sets the caller's identity. An
/// invalid credential is a 401 at once; no credential leaves the request anonymous, and
/// each route decides whether that is enough.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let auth: AuthService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else { return try await next(request, context) }
        // The scheme name is case-insensitive (RFC 9110 section 11.1).
        guard header.lowercased().hasPrefix("bearer "), let identity = try await auth.identity(forBearer: String(header.dropFirst("bearer ".count))) else {
            throw Problem.unauthorized("the bearer credential is invalid, expired or revoked")
        }
        if case .task(let runID) = identity.credential, !request.uri.path.lowercased().hasPrefix("/api/v1/runs/\(runID.uuidString.lowercased())") {
            // A task token reaches its own run and nothing else; elsewhere it finds nothing.
            throw NotFound(resource: "route for this task token", id: request.uri.path)
        }
        var context = context
        context.identity = identity
        context.logger[metadataKey: "user"] = .string(identity.username)
        return try await next(request, context)
    }
}
