import FluentKit
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
import Logging
import SQLKit
import NIOCore
import NIOPosix

/// Opens the metadata database the configuration names and runs the migrations.
/// `Databases` is a swift-service-lifecycle friendly owner of the connection pools; callers
/// shut it down with `shutdownAsync()`.
public struct MetadataDatabase: Sendable {
    public let databases: Databases
    let logger: Logger
    let isSQLiteFile: Bool

    public init(config: AppConfig, logger: Logger) throws {
        self.logger = logger
        databases = Databases(threadPool: .singleton, on: MultiThreadedEventLoopGroup.singleton)
        let isPostgres = if case .postgres = config.database { true } else { false }
        sqliteLoop = isPostgres ? nil : MultiThreadedEventLoopGroup.singleton.next()
        isSQLiteFile = if case .sqliteFile = config.database { true } else { false }
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

    /// SQLite allows one writer at a time, and Fluent keeps one connection per event loop: with
    /// several loops, two connections raced for the write lock and one failed at once with
    /// "database is locked". SQLite work therefore goes through one loop's connection.
    private let sqliteLoop: (any EventLoop)?

    public var database: any Database {
        // `use(_:as:)` above made a default; a nil here would be a programming error.
        guard let database = databases.database(logger: logger, on: sqliteLoop ?? MultiThreadedEventLoopGroup.singleton.any()) else {
            preconditionFailure("no default database configured")
        }
        return database
    }

    /// For a SQLite file: write-ahead logging (readers do not block the writer), commits that
    /// do not wait for the disk, and a busy timeout for another connection holding the lock.
    ///
    /// `synchronous = NORMAL` is SQLite's advice for WAL: a commit survives the server being
    /// killed (it is in the OS's cache), and a power loss can undo only the last commits,
    /// never corrupt the file. `FULL` synced the log on every commit (a sqlite3 probe on this
    /// machine's disk: 4.4 ms a commit against 0.07 ms), and each task's attempt is about six
    /// commits. Production runs PostgreSQL.
    func tuneSQLite() async throws {
        guard isSQLiteFile else { return }
        // The pool keeps its one connection open (see `sqliteLoop`).
        try await Self.tuneSQLiteConnection(database.sql)
    }

    /// The settings above, for one connection to a SQLite file (WAL is the file's own, the rest
    /// are per connection). The busy timeout waits out the other connections' writes: the
    /// scheduler loop's own (`LoopConnection`), another process's (a CLI).
    static func tuneSQLiteConnection(_ sql: any SQLDatabase) async throws {
        try await sql.raw("PRAGMA journal_mode = WAL").run()
        try await sql.raw("PRAGMA synchronous = NORMAL").run()
        try await sql.raw("PRAGMA busy_timeout = 5000").run()
    }

    public func migrate() async throws {
        try await tuneSQLite()
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
