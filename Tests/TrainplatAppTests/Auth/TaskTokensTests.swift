import Foundation
import Testing
@testable import TrainplatApp
import TrainplatCore

/// Task tokens signed within one second for the same claims are one token; any other claims,
/// or a later second, get a token of their own that verifies with exactly those claims.
@Suite("Task tokens")
struct TaskTokensTests {
    private let signer: TokenSigner

    init() throws {
        signer = try TokenSigner(secret: Data(repeating: 7, count: 32))
    }

    private func claims(run: UUID, at second: TimeInterval, lifetime: TimeInterval = 3600) -> TokenClaims {
        TokenClaims(sub: "user-1", kind: .task, run: run.uuidString, issuedAt: Date(timeIntervalSince1970: second), lifetime: lifetime)
    }

    @Test func test_token_sameClaimsInOneSecond_isOneToken_othersAreTheirOwn() throws {
        // setup
        let tokens = TaskTokens()
        let run = UUID()
        // act
        let first = tokens.token(for: claims(run: run, at: 1_000.1), signer: signer)
        let sameSecond = tokens.token(for: claims(run: run, at: 1_000.9), signer: signer)
        let otherRun = tokens.token(for: claims(run: UUID(), at: 1_000.5), signer: signer)
        let otherLifetime = tokens.token(for: claims(run: run, at: 1_000.5, lifetime: 60), signer: signer)
        let nextSecond = tokens.token(for: claims(run: run, at: 1_001.2), signer: signer)
        // check
        #expect(first == sameSecond)
        #expect(Set([first, otherRun, otherLifetime, nextSecond]).count == 4)
        let verified = try signer.verify(nextSecond, now: Date(timeIntervalSince1970: 1_002))
        #expect((verified.iat, verified.exp, verified.run) == (1_001, 4_601, run.uuidString))
    }

    @Test func test_token_anEarlierSecond_isSignedAfresh() throws {
        // setup: the cache holds a later second (clocks of two threads)
        let tokens = TaskTokens()
        let run = UUID()
        _ = tokens.token(for: claims(run: run, at: 2_000), signer: signer)
        // act
        let earlier = tokens.token(for: claims(run: run, at: 1_999), signer: signer)
        // check: it says when it was issued, not the cached second
        #expect(try signer.verify(earlier, now: Date(timeIntervalSince1970: 2_000)).iat == 1_999)
    }
}
