import FluentKit

/// Task caching: the hash of what a task ran, and which earlier task a cached one reused.
struct AddTaskCache: AsyncMigration {
    func prepare(on database: any Database) async throws {
        // One column per statement: SQLite's ALTER TABLE adds a single column at a time.
        try await database.schema("task_runs").field("cache_key", .string).update()
        try await database.schema("task_runs").field("cached_from", .uuid).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("task_runs").deleteField("cached_from").update()
        try await database.schema("task_runs").deleteField("cache_key").update()
    }
}
