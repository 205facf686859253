import FluentKit
import Foundation
import SQLKit
import Testing
@testable import TrainplatApp

@Suite("Migrations")
struct MigrationTests {
    @Test func test_migrations_revertAndReapply_cleanly() async throws {
        try await TestApp.with { app in
            // setup
            let migrations = Migrations()
            migrations.add(MigrationList.all)
            let migrator = Migrator(databases: app.app.metadata.databases, migrations: migrations, logger: .init(label: "test"), on: app.database.eventLoop)
            // act
            try await migrator.revertAllBatches().get()
            let afterRevert = await app.app.metadata.isMigrated()
            try await app.app.metadata.migrate()
            // check
            #expect(!afterRevert)
            #expect(await app.app.metadata.isMigrated())
            #expect(try await User.query(on: app.database).count() == 0)
        }
    }

    @Test func test_sqliteFile_usesWriteAheadLog_withCommitsThatDoNotWaitForTheDisk() async throws {
        // setup
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trainplat-sqlite-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var config = try AppConfig.load(environment: [:])
        config.database = .sqliteFile("\(directory)/trainplat.sqlite")
        let metadata = try MetadataDatabase(config: config, logger: .init(label: "test"))
        // act
        try await metadata.migrate()
        // check: on the connection the app then uses
        struct Mode: Decodable { let journal_mode: String }
        struct Sync: Decodable { let synchronous: Int }
        let sql = try #require(metadata.database as? any SQLDatabase)
        let journal = try await sql.raw("PRAGMA journal_mode").first(decoding: Mode.self)
        let sync = try await sql.raw("PRAGMA synchronous").first(decoding: Sync.self)
        await metadata.shutdown()
        #expect(journal?.journal_mode == "wal")
        #expect(sync?.synchronous == 1, "1 is NORMAL; 2 (FULL) synced the log on every commit")
    }
}
