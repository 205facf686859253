import Foundation
import Logging

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
    public var taskLogLimitBytes: Int
    public var heartbeatSeconds: Double
    public var logLevel: Logger.Level

    public var artifactsDirectory: String { dataDirectory + "/artifacts" }
    public var runsDirectory: String { dataDirectory + "/runs" }

    public init(
        dataDirectory: String = "./var", host: String = "127.0.0.1", port: Int = 8080,
        database: DatabaseKind? = nil, pythonExecutable: String = AppConfig.defaultPython(),
        maxConcurrentTasks: Int = 2, taskLogLimitBytes: Int = 10 << 20, heartbeatSeconds: Double = 5,
        logLevel: Logger.Level = .info
    ) {
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.database = database ?? .sqliteFile(dataDirectory + "/trainplat.sqlite")
        self.pythonExecutable = pythonExecutable
        self.maxConcurrentTasks = maxConcurrentTasks
        self.taskLogLimitBytes = taskLogLimitBytes
        self.heartbeatSeconds = heartbeatSeconds
        self.logLevel = logLevel
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
