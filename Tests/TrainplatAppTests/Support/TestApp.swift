import FluentKit
import HTTPTypes
import Foundation
import Logging
import SQLKit
import Testing
@testable import TrainplatApp
import TrainplatCore

/// A fresh, migrated metadata database per test: in-memory SQLite by default, or a new
/// PostgreSQL database when `TRAINPLAT_TEST_DATABASE=postgres` (the Makefile's second pass).
struct TestApp {
    let app: TrainplatApp
    let directory: String
    var database: any Database { app.database }

    static var usesPostgres: Bool {
        ProcessInfo.processInfo.environment["TRAINPLAT_TEST_DATABASE"] == "postgres"
    }

    static func with(
        configure: (inout AppConfig) -> Void = { _ in },
        _ body: (TestApp) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trainplat-test-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let postgres = usesPostgres ? try await PostgresScratch.create() : nil
        var config = AppConfig(dataDirectory: directory, port: 0, database: postgres.map { .postgres(url: $0.url) } ?? .sqliteMemory)
        config.heartbeatSeconds = 2
        config.bcryptCost = 4
        configure(&config)
        // Errors only: the scheduler's expected warnings (failing test tasks) would drown the output.
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let app = try TrainplatApp(config: config, logger: logger)
        do {
            try await app.metadata.migrate()
            try await body(TestApp(app: app, directory: directory))
        } catch {
            await app.metadata.shutdown()
            try await postgres?.drop()
            throw error
        }
        await app.metadata.shutdown()
        try await postgres?.drop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A user with a password (for login tests) and, optionally, admin rights.
    func user(_ name: String = "user-\(UUID().uuidString.prefix(6))", admin: Bool = false, password: String = "correct horse battery") async throws -> User {
        let user = User(username: name, passwordHash: try app.auth.hashPassword(password), isAdmin: admin)
        try await user.create(on: database)
        return user
    }

    func project(_ name: String = "project-\(UUID().uuidString.prefix(6))", members: [(User, ProjectRole)]) async throws -> Project {
        let project = Project(name: name)
        try await project.create(on: database)
        for (user, role) in members {
            try await Membership(userID: try user.requireID(), projectID: try project.requireID(), role: role).create(on: database)
        }
        return project
    }

    /// `Authorization` headers carrying a fresh access token for `user`.
    func headers(for user: User) throws -> HTTPFields {
        [.authorization: "Bearer \(try app.auth.accessToken(for: user).token)"]
    }

    /// A user and project to own what a test creates.
    func owner() async throws -> (user: UUID, project: UUID) {
        let user = User(username: "tester-\(UUID().uuidString.prefix(6))", passwordHash: nil, isAdmin: false)
        try await user.create(on: database)
        let project = Project(name: "project-\(UUID().uuidString.prefix(6))")
        try await project.create(on: database)
        return (try user.requireID(), try project.requireID())
    }

    /// Registers `spec`, starts a run, drives the scheduler until the run ends (or `timeout`).
    /// Registers `spec` for a fresh owner and starts a run of it (queued; nothing drives it).
    func start(spec: String, params: JSONObject = [:]) async throws -> PipelineRun {
        let (user, project) = try await owner()
        let registered = try await PipelineService(database: database).register(specText: spec, projectID: project, userID: user)
        return try await RunService(database: database).start(versionID: try registered.version.requireID(), params: params, userID: user)
    }

    func run(spec: String, params: JSONObject = [:], timeout: Duration = .seconds(60)) async throws -> PipelineRun {
        let run = try await start(spec: spec, params: params)
        try await drive(until: { try await PipelineRun.find(run.requireID(), on: database)?.status.isTerminal == true }, timeout: timeout)
        return try #require(try await PipelineRun.find(run.requireID(), on: database))
    }

    /// Runs the scheduler service until `condition` holds.
    func drive(until condition: @Sendable () async throws -> Bool, timeout: Duration) async throws {
        let scheduler = app.makeScheduler()
        let loop = Task { try await scheduler.run() }
        defer { loop.cancel() }
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("condition not reached within \(timeout)")
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        loop.cancel()
        _ = await loop.result
    }

    func tasks(of run: PipelineRun) async throws -> [String: TaskRun] {
        let tasks = try await TaskRun.query(on: database).filter(\.$run.$id == run.requireID()).all()
        return Dictionary(uniqueKeysWithValues: tasks.map { ($0.name, $0) })
    }

    func attempts(of task: TaskRun) async throws -> [TaskAttempt] {
        try await TaskAttempt.query(on: database).filter(\.$task.$id == task.requireID()).sort(\.$number).all()
    }
}

/// A throwaway PostgreSQL database on the server named by TRAINPLAT_TEST_POSTGRES_URL.
struct PostgresScratch {
    let url: String
    let name: String
    let adminURL: String

    static func create() async throws -> PostgresScratch {
        let adminURL = try #require(
            ProcessInfo.processInfo.environment["TRAINPLAT_TEST_POSTGRES_URL"],
            "TRAINPLAT_TEST_DATABASE=postgres needs TRAINPLAT_TEST_POSTGRES_URL")
        let name = "trainplat_test_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        try await execute("CREATE DATABASE \(name)", adminURL: adminURL)
        var components = try #require(URLComponents(string: adminURL))
        components.path = "/\(name)"
        return PostgresScratch(url: try #require(components.string), name: name, adminURL: adminURL)
    }

    func drop() async throws {
        try await Self.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)", adminURL: adminURL)
    }

    private static func execute(_ statement: String, adminURL: String) async throws {
        let admin = try MetadataDatabase(config: AppConfig(database: .postgres(url: adminURL)), logger: Logger(label: "test-admin"))
        do {
            let sql = try #require(admin.database as? any SQLDatabase)
            try await sql.raw(SQLQueryString(statement)).run()
        } catch {
            await admin.shutdown()
            throw error
        }
        await admin.shutdown()
    }
}

/// A metadata database on a SQLite file of its own (the tests' apps use one in memory),
/// removed with its directory by `remove()`.
struct SQLiteFileScratch {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trainplat-sqlite-\(UUID())").path
    let config: AppConfig
    let metadata: MetadataDatabase

    init() throws {
        var config = try AppConfig.load(environment: [:])
        config.database = .sqliteFile("\(directory)/trainplat.sqlite")
        self.config = config
        metadata = try MetadataDatabase(config: config, logger: .init(label: "test"))
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
