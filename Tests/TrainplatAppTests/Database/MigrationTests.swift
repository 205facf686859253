import FluentKit
import Foundation
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
}
