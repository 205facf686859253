import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import TrainplatApp
import TrainplatCore

@Suite("Gateway: headers, CORS, body size, rate limits")
struct GatewayTests {
    @Test func test_everyResponse_carriesSecurityHeaders() async throws {
        try await TestApp.with { app in
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                for uri in ["/health", "/api/v1/runs"] {
                    let response = try await client.execute(uri: uri, method: .get)
                    #expect(response.headers[.xContentTypeOptions] == "nosniff", "\(uri)")
                    #expect(response.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true, "\(uri)")
                }
            }
        }
    }

    @Test func test_cors_onlyConfiguredOriginsAreAllowed() async throws {
        try await TestApp.with(configure: { $0.corsOrigins = ["https://ui.example.com"] }) { app in
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                let allowed = try await client.execute(uri: "/api/v1/runs", method: .options, headers: [.origin: "https://ui.example.com"])
                let other = try await client.execute(uri: "/health", method: .get, headers: [.origin: "https://evil.example.com"])
                #expect(allowed.status == .noContent)
                #expect(allowed.headers[.accessControlAllowOrigin] == "https://ui.example.com")
                #expect(other.headers[.accessControlAllowOrigin] == nil)
                let refused = try await client.execute(uri: "/api/v1/runs", method: .get, headers: [.origin: "https://ui.example.com"])
                #expect(refused.status == .unauthorized)
                #expect(refused.headers[.accessControlAllowOrigin] == "https://ui.example.com")
            }
        }
    }

    @Test func test_oversizedBody_is413BeforeItIsRead() async throws {
        try await TestApp.with { app in
            let user = try app.headers(for: try await app.user())
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                let body = ByteBuffer(repeating: UInt8(ascii: "x"), count: SpecParser.maxSpecBytes + 1)
                let response = try await client.execute(uri: "/api/v1/pipelines/validate", method: .post, headers: user, body: body)
                #expect(response.status == .contentTooLarge)
            }
        }
    }

    @Test func test_rateLimit_burstThen429WithRetryAfter_perCaller() async throws {
        // A bucket of one that refills every 100 s: deterministic however slow the machine is.
        try await TestApp.with(configure: { $0.rateLimitPerSecond = 0.01 }) { app in
            let alice = try app.headers(for: try await app.user())
            let bob = try app.headers(for: try await app.user())
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                let first = try await client.execute(uri: "/api/v1/runs", method: .get, headers: alice)
                let limited = try await client.execute(uri: "/api/v1/runs", method: .get, headers: alice)
                let other = try await client.execute(uri: "/api/v1/runs", method: .get, headers: bob)
                #expect(first.status == .ok)
                #expect(limited.status == .tooManyRequests)
                #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)
                #expect(other.status == .ok)
            }
        }
    }
}

@Suite("Token bucket")
struct RateLimiterTests {
    @Test func test_take_refillsOverTime() {
        let limiter = RateLimiter(perSecond: 1, burst: 2)
        let start = Date(timeIntervalSince1970: 0)
        #expect(limiter.take("k", now: start) == nil)
        #expect(limiter.take("k", now: start) == nil)
        #expect(limiter.take("k", now: start) == 1)
        #expect(limiter.take("k", now: start.addingTimeInterval(1.01)) == nil)
    }
}
