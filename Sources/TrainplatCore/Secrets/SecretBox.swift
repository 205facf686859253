import Crypto
import Foundation

/// Encryption at rest for stored secrets (feature-source passwords): AES-256-GCM with a key
/// from configuration. A sealed value is `v1:` + base64(nonce | ciphertext | tag); the version
/// prefix leaves room to rotate the scheme.
public struct SecretBox: Sendable {
    private let key: SymmetricKey
    private static let prefix = "v1:"

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case keyTooShort, malformed, wrongKeyOrTampered

        public var description: String {
            switch self {
            case .keyTooShort: "the secret key must be at least 32 bytes"
            case .malformed: "the stored secret is not a sealed value"
            case .wrongKeyOrTampered: "the stored secret does not open with this key (changed key or tampered value)"
            }
        }
    }

    /// Any key material of at least 32 bytes; it is hashed to the 256-bit AES key.
    public init(keyMaterial: Data) throws(Failure) {
        guard keyMaterial.count >= 32 else { throw .keyTooShort }
        key = SymmetricKey(data: SHA256.hash(data: keyMaterial))
    }

    public func seal(_ plaintext: String) -> String {
        // AES-GCM sealing with a fresh random nonce cannot fail for in-memory data.
        let sealed = try? AES.GCM.seal(Data(plaintext.utf8), using: key)
        return Self.prefix + (sealed?.combined?.base64EncodedString() ?? "")
    }

    public func open(_ sealed: String) throws(Failure) -> String {
        guard sealed.hasPrefix(Self.prefix), let data = Data(base64Encoded: String(sealed.dropFirst(Self.prefix.count))),
            let box = try? AES.GCM.SealedBox(combined: data)
        else { throw .malformed }
        guard let plaintext = try? AES.GCM.open(box, using: key) else { throw .wrongKeyOrTampered }
        return String(decoding: plaintext, as: UTF8.self)
    }
}
