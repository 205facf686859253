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

    @Test func test_alignAttemptCounts_raisesCountsLeftBehindTheirAttempts_only() async throws {
        try await TestApp.with { app in
            // setup: an older server stored attempt 2 of `lagging` and died before counting it
            let run = try await app.start(spec: "name: two\ntasks:\n  lagging: {command: [\"true\"]}\n  counted: {command: [\"true\"]}\n")
            let tasks = try await app.tasks(of: run)
            let lagging = try #require(tasks["lagging"]?.id), counted = try #require(tasks["counted"]?.id)
            for (id, numbers, count) in [(lagging, [1, 2], 1), (counted, [1], 1)] {
                for number in numbers {
                    try await TaskAttempt(taskID: id, number: number, workDirectory: app.directory, logPath: app.directory + "/log").create(on: app.database)
                }
                try await TaskRun.query(on: app.database).filter(\.$id == id).set(\.$attemptCount, to: count).update()
            }
            // act
            try await AlignAttemptCounts().prepare(on: app.database)
            // check
            #expect(try await TaskRun.find(lagging, on: app.database)?.attemptCount == 2)
            #expect(try await TaskRun.find(counted, on: app.database)?.attemptCount == 1)
        }
    }

    @Test func test_sqliteFile_usesWriteAheadLog_withCommitsThatDoNotWaitForTheDisk() async throws {
        // setup
        let scratch = try SQLiteFileScratch()
        defer { scratch.remove() }
        let metadata = scratch.metadata
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
