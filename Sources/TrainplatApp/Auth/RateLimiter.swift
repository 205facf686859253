import Foundation
import Hummingbird

/// Token buckets per caller (user, or API key's user and project): `burst` requests at once,
/// refilled at `perSecond`. An empty bucket answers 429 with Retry-After.
final class RateLimiter: @unchecked Sendable {
    let perSecond: Double
    let burst: Double
    private var buckets: [String: (tokens: Double, updated: Date)] = [:]
    private let lock = NSLock()
    private static let maxTrackedCallers = 100_000

    init(perSecond: Double, burst: Double) {
        self.perSecond = perSecond
        self.burst = burst
    }

    /// Seconds until a request would be allowed; nil when this one is (and it is counted).
    func take(_ key: String, now: Date = Date()) -> Int? {
        lock.withLock {
            if buckets.count >= Self.maxTrackedCallers { buckets.removeAll() }
            var bucket = buckets[key] ?? (burst, now)
            bucket.tokens = min(burst, bucket.tokens + now.timeIntervalSince(bucket.updated) * perSecond)
            bucket.updated = now
            defer { buckets[key] = bucket }
            guard bucket.tokens >= 1 else { return max(1, Int(((1 - bucket.tokens) / perSecond).rounded(.up))) }
            bucket.tokens -= 1
            return nil
        }
    }
}

/// Applies the rate limit to authenticated API requests (anonymous ones are refused anyway,
/// and login has its own throttle).
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let limiter: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let identity = context.identity else { return try await next(request, context) }
        let key: String
        switch identity.credential {
        case .apiKey(let project): key = "key:\(identity.userID):\(project?.uuidString ?? "*")"
        case .accessToken: key = "user:\(identity.userID)"
        case .task(let run): key = "task:\(run)"
        }
        if let wait = limiter.take(key) {
            throw Problem(
                status: .tooManyRequests, title: "Too many requests", detail: "rate limit of \(limiter.perSecond) requests/s exceeded; retry in \(wait)s",
                headers: [.retryAfter: String(wait)])
        }
        return try await next(request, context)
    }
}
