import FluentKit
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
import Logging
import NIOCore
import NIOPosix

/// Opens the metadata database the configuration names and runs the migrations.
/// `Databases` is a swift-service-lifecycle friendly owner of the connection pools; callers
/// shut it down with `shutdownAsync()`.
public struct MetadataDatabase: Sendable {
    public let databases: Databases
    let logger: Logger

    public init(config: AppConfig, logger: Logger) throws {
        self.logger = logger
        databases = Databases(threadPool: .singleton, on: MultiThreadedEventLoopGroup.singleton)
        switch config.database {
        case .sqliteMemory:
            databases.use(.sqlite(.memory), as: .sqlite)
        case .sqliteFile(let path):
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            databases.use(.sqlite(.file(path), sqlLogLevel: .trace), as: .sqlite)
        case .postgres(let url):
            do {
                databases.use(try .postgres(url: url, sqlLogLevel: .trace), as: .psql)
            } catch {
                throw ConfigError(variable: "TRAINPLAT_DATABASE_URL", value: AppConfig.redactingPassword(url), expected: "a PostgreSQL URL the driver accepts (\(error))")
            }
        }
    }

    public var database: any Database {
        // `use(_:as:)` above made a default; a nil here would be a programming error.
        guard let database = databases.database(logger: logger, on: MultiThreadedEventLoopGroup.singleton.any()) else {
            preconditionFailure("no default database configured")
        }
        return database
    }

    public func migrate() async throws {
        let migrations = Migrations()
        migrations.add(MigrationList.all)
        let migrator = Migrator(databases: databases, migrations: migrations, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any())
        try await migrator.setupIfNeeded().get()
        try await migrator.prepareBatch().get()
    }

    /// True when every known migration has run (the readiness check).
    public func isMigrated() async -> Bool {
        let migrations = Migrations()
        migrations.add(MigrationList.all)
        let migrator = Migrator(databases: databases, migrations: migrations, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any())
        guard let pending = try? await migrator.previewPrepareBatch().get() else { return false }
        return pending.isEmpty
    }

    public func shutdown() async {
        await databases.shutdownAsync()
    }
}
