import Foundation
import TrainplatCore

/// The task tokens signed in the current second, by their claims. Claims count whole seconds,
/// so the attempts of one run (same user, same lifetime) that start within a second would be
/// given tokens that differ only in their `jti`; they are given the same token instead.
/// Signing was a twentieth of a chain's step (the claims' JSON, the HMAC, a random id), and
/// nothing reads a task token's `jti`. A token is never reused in a later second, so every
/// token says when it was issued and when it expires exactly as a fresh one would.
final class TaskTokens: @unchecked Sendable {
    private let lock = NSLock()
    private var second = 0
    private var signed: [TokenClaims: String] = [:]

    func token(for claims: TokenClaims, signer: TokenSigner) -> String {
        var key = claims
        key.jti = ""
        if let token = lock.withLock({ claims.iat == second ? signed[key] : nil }) { return token }
        let token = signer.sign(claims)
        lock.withLock {
            // Only the current second's tokens are kept, so the cache holds a few at most.
            if claims.iat > second { (second, signed) = (claims.iat, [:]) }
            if claims.iat == second { signed[key] = token }
        }
        return token
    }
}
