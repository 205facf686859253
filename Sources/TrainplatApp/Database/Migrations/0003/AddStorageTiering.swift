import FluentKit

/// Lifecycle rules per project, and pins that keep a training-set version where it is.
struct AddStorageTiering: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("storage_lifecycles")
            .id()
            .field("project_id", .uuid, .required, .references("projects", "id"))
            .field("rules", .json, .required)
            .field("updated_at", .datetime)
            .unique(on: "project_id")
            .create()
        try await database.schema("training_set_versions").field("pinned", .bool).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("training_set_versions").deleteField("pinned").update()
        try await database.schema("storage_lifecycles").delete()
    }
}
