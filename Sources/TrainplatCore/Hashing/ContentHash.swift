import Crypto
import Foundation

/// Content addresses for immutable versions (pipeline specs, training sets, models).
public enum ContentHash {
    /// Lower-case hex SHA-256 of the UTF-8 bytes of `text`.
    public static func sha256(_ text: String) -> String {
        sha256(Data(text.utf8))
    }

    public static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
