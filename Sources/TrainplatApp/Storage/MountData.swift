import Foundation
import TrainplatCore

/// The files of a saved configmap or secret: checked on the way in, sealed at rest for
/// secrets, and read back only to materialise them for a task.
enum MountData {
    static let maxFiles = 64
    static let maxBytes = 512 * 1024

    /// File names are single path segments; sizes are bounded.
    static func validate(_ data: [String: String], for type: MountType) throws(StorageError) {
        guard type == .configmap || type == .secret else {
            guard data.isEmpty else { throw StorageError("data is only for configmap and secret mounts, not \(type.rawValue)") }
            return
        }
        guard !data.isEmpty else { throw StorageError("a \(type.rawValue) mount needs data: {\"file name\": \"content\"}") }
        guard data.count <= maxFiles else { throw StorageError("data has \(data.count) files; the limit is \(maxFiles)") }
        for name in data.keys.sorted() { try MountParser.checkFileName(name) }
        let bytes = data.values.reduce(0) { $0 + $1.utf8.count }
        guard bytes <= maxBytes else { throw StorageError("data is \(bytes) bytes; the limit is \(maxBytes)") }
    }

    /// What `StorageMount.config` stores: the file names, and the content (sealed for secrets).
    static func config(_ data: [String: String], for type: MountType, secrets: SecretBox) throws -> JSONObject {
        guard !data.isEmpty else { return [:] }
        var config: JSONObject = ["keys": .array(data.keys.sorted().map(JSONValue.string))]
        if type == .secret {
            let json = try JSONEncoder.sorted.encode(data)
            config["sealed_data"] = .string(secrets.seal(String(decoding: json, as: UTF8.self)))
        } else {
            config["data"] = .object(data.mapValues(JSONValue.string))
        }
        return config
    }

    static func files(of saved: StorageMount, secrets: SecretBox) throws -> [String: String] {
        if let sealed = saved.config["sealed_data"]?.stringValue {
            return try JSONDecoder().decode([String: String].self, from: Data(try secrets.open(sealed).utf8))
        }
        return (saved.config["data"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
    }
}

extension JSONEncoder {
    fileprivate static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }
}
