import Foundation
import Logging
import TrainplatCore

/// Everything the control plane reads from its environment, with the embedded defaults of
/// design.md: SQLite under `./var`, local executor, HTTP on 127.0.0.1:8080.
public struct AppConfig: Sendable {
    public enum DatabaseKind: Sendable, Equatable {
        case sqliteFile(String)
        case sqliteMemory
        case postgres(url: String)
    }

    public var dataDirectory: String
    public var host: String
    public var port: Int
    public var database: DatabaseKind
    public var pythonExecutable: String
    public var maxConcurrentTasks: Int
    /// At most this many tasks of one user run at once; nil: only the fair share applies.
    public var maxTasksPerUser: Int?
    public var taskLogLimitBytes: Int
    public var heartbeatSeconds: Double
    public var logLevel: Logger.Level
    /// The first admin, created on first start when no admin exists.
    public var adminUsername: String
    public var adminPassword: String?
    /// HS256 key for access and task tokens (>= 32 bytes); nil: generated once and kept in
    /// the data directory.
    public var tokenSecret: Data?
    /// Key material (>= 32 bytes) encrypting stored secrets; nil: generated once and kept in
    /// the data directory.
    public var secretKey: Data?
    public var accessTokenLifetimeSeconds: Int
    /// Requests per second per caller (token bucket, bursts of twice that).
    public var rateLimitPerSecond: Double
    /// Origins a browser may call the API from (CORS); none by default.
    public var corsOrigins: [String]
    /// bcrypt cost (work factor). Each step doubles the time of a login.
    public var bcryptCost: UInt8

    /// Mount allow-lists and the S3 endpoint; set from the environment after `init`.
    public var storage = StorageConfig()
    /// How long a refresh token (and so a login session without activity) lasts.
    public var refreshTokenLifetimeSeconds = 14 * 86400
    /// How often the storage gauges are refreshed by measuring every owner's usage.
    public var storageScanSeconds = 300

    public var runsDirectory: String { dataDirectory + "/runs" }
    /// Managed roots of pvc claims and nfs exports on a machine without Kubernetes.
    public var volumesDirectory: String { dataDirectory + "/volumes" }

    /// Where a storage tier keeps the data lifecycle rules move there.
    public func tierDirectory(_ tier: StorageTier) -> String {
        storage.tierDirectories[tier] ?? "\(dataDirectory)/tiers/\(tier.rawValue)"
    }

    public init(
        dataDirectory: String = "./var", host: String = "127.0.0.1", port: Int = 8080,
        database: DatabaseKind? = nil, pythonExecutable: String = AppConfig.defaultPython(),
        maxConcurrentTasks: Int = 2, maxTasksPerUser: Int? = nil, taskLogLimitBytes: Int = 10 << 20, heartbeatSeconds: Double = 5,
        logLevel: Logger.Level = .info, adminUsername: String = "admin", adminPassword: String? = nil,
        tokenSecret: Data? = nil, secretKey: Data? = nil, accessTokenLifetimeSeconds: Int = 900,
        rateLimitPerSecond: Double = 50, corsOrigins: [String] = [], bcryptCost: UInt8 = 12
    ) {
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.database = database ?? .sqliteFile(dataDirectory + "/trainplat.sqlite")
        self.pythonExecutable = pythonExecutable
        self.maxConcurrentTasks = maxConcurrentTasks
        self.maxTasksPerUser = maxTasksPerUser
        self.taskLogLimitBytes = taskLogLimitBytes
        self.heartbeatSeconds = heartbeatSeconds
        self.logLevel = logLevel
        self.adminUsername = adminUsername
        self.adminPassword = adminPassword
        self.tokenSecret = tokenSecret
        self.secretKey = secretKey
        self.accessTokenLifetimeSeconds = accessTokenLifetimeSeconds
        self.rateLimitPerSecond = rateLimitPerSecond
        self.corsOrigins = corsOrigins
        self.bcryptCost = bcryptCost
    }

    /// The project's venv when run from a checkout, else whatever `python3` is on PATH.
    public static func defaultPython() -> String {
        let venv = FileManager.default.currentDirectoryPath + "/.venv/bin/python"
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "python3"
    }
}

/// A configuration value that could not be used; names the variable and what it expected.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var variable: String
    public var value: String
    public var expected: String

    public var description: String {
        "invalid configuration: \(variable)='\(value)': expected \(expected)"
    }
}
