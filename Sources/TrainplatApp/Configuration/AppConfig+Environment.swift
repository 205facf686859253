import Foundation
import Logging

extension AppConfig {
    /// Reads `TRAINPLAT_*` variables. `TRAINPLAT_CONFIG` may name a file of `KEY=VALUE` lines
    /// (same keys, `#` comments); the process environment wins over the file.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AppConfig {
        var values = environment
        if let path = environment["TRAINPLAT_CONFIG"] {
            let fileValues = try parseConfigFile(at: path)
            values = fileValues.merging(environment) { _, fromEnvironment in fromEnvironment }
        }
        return try AppConfig(values: values)
    }

    init(values: [String: String]) throws {
        let reader = ConfigReader(values: values)
        let dataDirectory = try reader.string("TRAINPLAT_DATA_DIR", default: "./var")
        self.init(
            dataDirectory: dataDirectory,
            host: try reader.string("TRAINPLAT_HOST", default: "127.0.0.1"),
            port: try reader.int("TRAINPLAT_PORT", default: 8080, range: 0...65535),
            database: try Self.database(from: values["TRAINPLAT_DATABASE_URL"], dataDirectory: dataDirectory),
            pythonExecutable: try reader.string("TRAINPLAT_PYTHON", default: AppConfig.defaultPython()),
            maxConcurrentTasks: try reader.int("TRAINPLAT_MAX_CONCURRENT_TASKS", default: 2, range: 1...1024),
            maxTasksPerUser: try reader.optionalInt("TRAINPLAT_MAX_TASKS_PER_USER", range: 1...1024),
            taskLogLimitBytes: try reader.int("TRAINPLAT_TASK_LOG_LIMIT_BYTES", default: 10 << 20, range: 1024...(1 << 34)),
            heartbeatSeconds: Double(try reader.int("TRAINPLAT_HEARTBEAT_SECONDS", default: 5, range: 1...3600)),
            logLevel: try reader.logLevel("TRAINPLAT_LOG_LEVEL", default: .info),
            adminUsername: try reader.string("TRAINPLAT_ADMIN_USER", default: "admin"),
            adminPassword: values["TRAINPLAT_ADMIN_PASSWORD"],
            tokenSecret: try reader.secret("TRAINPLAT_TOKEN_SECRET", minimumBytes: 32),
            secretKey: try reader.secret("TRAINPLAT_SECRET_KEY", minimumBytes: 32),
            accessTokenLifetimeSeconds: try reader.int("TRAINPLAT_ACCESS_TOKEN_TTL_SECONDS", default: 900, range: 60...86400),
            rateLimitPerSecond: Double(try reader.int("TRAINPLAT_RATE_LIMIT_PER_SECOND", default: 50, range: 1...100_000)),
            corsOrigins: try reader.origins("TRAINPLAT_CORS_ORIGINS")
        )
        storage = try StorageConfig.load(values)
        refreshTokenLifetimeSeconds = try reader.int("TRAINPLAT_REFRESH_TOKEN_TTL_SECONDS", default: 14 * 86400, range: 300...(90 * 86400))
        storageScanSeconds = try reader.int("TRAINPLAT_STORAGE_SCAN_SECONDS", default: 300, range: 10...86400)
        if let executor = values["TRAINPLAT_EXECUTOR"], executor != "local" {
            throw ConfigError(variable: "TRAINPLAT_EXECUTOR", value: executor, expected: "'local' (the only executor so far)")
        }
    }

    static func database(from url: String?, dataDirectory: String) throws -> DatabaseKind {
        guard let url, !url.isEmpty else { return .sqliteFile(dataDirectory + "/trainplat.sqlite") }
        if url == "sqlite::memory:" { return .sqliteMemory }
        if url.hasPrefix("sqlite://") { return .sqliteFile(String(url.dropFirst("sqlite://".count))) }
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme),
            components.host?.isEmpty == false
        else {
            throw ConfigError(
                variable: "TRAINPLAT_DATABASE_URL", value: redactingPassword(url),
                expected: "postgres://user:password@host:port/database, sqlite://PATH or sqlite::memory:")
        }
        return .postgres(url: url)
    }

    /// URLs appear in errors and logs without their password.
    static func redactingPassword(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "<unparseable url>"
    }

    static func parseConfigFile(at path: String) throws -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError(variable: "TRAINPLAT_CONFIG", value: path, expected: "a readable file of KEY=VALUE lines")
        }
        var values: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "="), line[..<equals].hasPrefix("TRAINPLAT_") else {
                throw ConfigError(variable: "TRAINPLAT_CONFIG", value: "\(path):\(index + 1)", expected: "a line TRAINPLAT_NAME=value, got '\(line)'")
            }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return values
    }
}

/// Typed reads of configuration values, each failing with the variable's name.
private struct ConfigReader {
    let values: [String: String]

    func string(_ name: String, default fallback: String) throws -> String {
        guard let value = values[name] else { return fallback }
        guard !value.isEmpty else { throw ConfigError(variable: name, value: value, expected: "a non-empty value") }
        return value
    }

    func int(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        try optionalInt(name, range: range) ?? fallback
    }

    func optionalInt(_ name: String, range: ClosedRange<Int>) throws -> Int? {
        guard let text = values[name] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigError(variable: name, value: text, expected: "a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// A secret's bytes; never echoed back in the error.
    func secret(_ name: String, minimumBytes: Int) throws -> Data? {
        guard let text = values[name] else { return nil }
        guard text.utf8.count >= minimumBytes else {
            throw ConfigError(variable: name, value: "<\(text.utf8.count) bytes, hidden>", expected: "at least \(minimumBytes) bytes")
        }
        return Data(text.utf8)
    }

    /// Comma-separated `scheme://host[:port]` origins.
    func origins(_ name: String) throws -> [String] {
        guard let text = values[name] else { return [] }
        let origins = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for origin in origins {
            guard let url = URLComponents(string: origin), ["http", "https"].contains(url.scheme), url.host != nil, url.path.isEmpty else {
                throw ConfigError(variable: name, value: text, expected: "comma-separated origins like https://ui.example.com")
            }
        }
        return origins
    }

    func logLevel(_ name: String, default fallback: Logger.Level) throws -> Logger.Level {
        guard let text = values[name] else { return fallback }
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            let levels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigError(variable: name, value: text, expected: "one of \(levels)")
        }
        return level
    }
}
