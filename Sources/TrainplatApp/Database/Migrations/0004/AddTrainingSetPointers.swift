import FluentKit

/// The "current" pointer of each training set as an append-only history: moving it or
/// rolling it back adds a row, nothing is rewritten.
struct AddTrainingSetPointers: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("training_set_pointers")
            .id()
            .field("training_set_id", .uuid, .required, .references("training_sets", "id"))
            .field("version_id", .uuid, .required, .references("training_set_versions", "id"))
            .field("moved_by", .uuid, .required, .references("users", "id"))
            .field("reason", .string, .required)
            .field("created_at", .datetime)
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("training_set_pointers").delete()
    }
}
