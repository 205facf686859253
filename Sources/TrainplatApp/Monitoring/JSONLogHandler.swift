import Foundation
import Logging

/// One JSON object per line on stderr: time, level, message, label and every metadata field
/// (the request id among them), ready for log aggregation.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [String: String] = [
            "ts": Date().formatted(.iso8601.time(includingFractionalSeconds: true).year().month().day()),
            "level": event.level.rawValue,
            "msg": "\(event.message)",
            "logger": label,
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new }) {
            fields[key] = "\(value)"
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var line = try? encoder.encode(fields) else { return }
        line.append(0x0A)
        FileHandle.standardError.write(line)
    }
}

public enum LogSetup {
    /// Installs JSON logging for the process (once), at `level`.
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
    }
}
