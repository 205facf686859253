import Crypto
import Foundation

/// What a signed token says: who, what kind, until when. Task tokens also name the one run
/// they may act on.
public struct TokenClaims: Sendable, Codable, Hashable {
    public enum Kind: String, Sendable, Codable {
        case access, task
    }

    /// The user id.
    public var sub: String
    public var kind: Kind
    /// For task tokens: the only run the bearer may act on.
    public var run: String?
    public var iat: Int
    public var exp: Int
    public var jti: String

    public init(sub: String, kind: Kind, run: String? = nil, issuedAt: Date, lifetime: TimeInterval, id: String = UUID().uuidString) {
        self.sub = sub
        self.kind = kind
        self.run = run
        self.iat = Int(issuedAt.timeIntervalSince1970)
        self.exp = Int(issuedAt.addingTimeInterval(lifetime).timeIntervalSince1970)
        self.jti = id
    }
}

public enum TokenError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed, badSignature, expired, keyTooShort

    public var description: String {
        switch self {
        case .malformed: "the token is not a well-formed JWT"
        case .badSignature: "the token's signature does not verify"
        case .expired: "the token has expired"
        case .keyTooShort: "the signing key must be at least 32 bytes"
        }
    }
}

/// HS256 JSON Web Tokens (RFC 7519) with exactly one accepted algorithm, so no `alg`
/// header can talk the verifier into another (the classic `none`/RS-HS confusion).
public struct TokenSigner: Sendable {
    private let key: SymmetricKey
    private static let header = base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))

    public init(secret: Data) throws(TokenError) {
        guard secret.count >= 32 else { throw .keyTooShort }
        key = SymmetricKey(data: secret)
    }

    public func sign(_ claims: TokenClaims) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // Encoding a struct of strings and ints cannot fail.
        let payload = Self.base64URL((try? encoder.encode(claims)) ?? Data())
        let signingInput = "\(Self.header).\(payload)"
        return "\(signingInput).\(Self.base64URL(Data(HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: key))))"
    }

    public func verify(_ token: String, now: Date = Date()) throws(TokenError) -> TokenClaims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == Self.header, let signature = Self.decodeBase64URL(parts[2]) else { throw .malformed }
        let signingInput = Data("\(parts[0]).\(parts[1])".utf8)
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: key) else { throw .badSignature }
        guard let payload = Self.decodeBase64URL(parts[1]), let claims = try? JSONDecoder().decode(TokenClaims.self, from: payload) else {
            throw .malformed
        }
        guard Double(claims.exp) > now.timeIntervalSince1970 else { throw .expired }
        return claims
    }

    // Byte by byte: every request verifies a token, and string replacements were about 5% of
    // an authenticated request in a profile.
    static func base64URL(_ data: Data) -> String {
        let bytes = data.base64EncodedData().compactMap { byte -> UInt8? in
            switch byte {
            case UInt8(ascii: "+"): UInt8(ascii: "-")
            case UInt8(ascii: "/"): UInt8(ascii: "_")
            case UInt8(ascii: "="): nil
            default: byte
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func decodeBase64URL(_ text: Substring) -> Data? {
        var bytes = text.utf8.map { byte in
            switch byte {
            case UInt8(ascii: "-"): UInt8(ascii: "+")
            case UInt8(ascii: "_"): UInt8(ascii: "/")
            default: byte
            }
        }
        bytes += repeatElement(UInt8(ascii: "="), count: (4 - bytes.count % 4) % 4)
        return Data(base64Encoded: Data(bytes))
    }
}

/// Unguessable secrets from the system's cryptographic generator (getrandom on Linux).
public enum RandomSecret {
    public static func hex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }
}
