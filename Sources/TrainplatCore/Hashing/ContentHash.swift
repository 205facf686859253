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

    /// A UUID named by `name`: the same name gives the same UUID, wherever and whenever it
    /// is made. The first 16 bytes of its SHA-256, marked as RFC 9562's version 8 (custom).
    public static func uuid(named name: Data) -> UUID {
        var bytes = Array(SHA256.hash(data: name).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(uuid: (
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}
