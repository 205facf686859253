import FluentKit

/// Pipelines (the seed's columns) and their immutable, content-addressed versions.
struct CreatePipelines: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("pipelines")
            .id()
            .field("project_id", .uuid, .required, .references("projects", "id"))
            .field("user_id", .uuid, .required, .references("users", "id"))
            .field("name", .string, .required)
            .field("version", .string, .required)
            .field("config", .json, .required)
            .field("status", .string, .required)
            .field("created_at", .datetime)
            .field("updated_at", .datetime)
            .unique(on: "project_id", "name")
            .create()
        try await database.schema("pipeline_versions")
            .id()
            .field("pipeline_id", .uuid, .required, .references("pipelines", "id", onDelete: .cascade))
            .field("created_by", .uuid, .required, .references("users", "id"))
            .field("number", .int, .required)
            .field("spec_hash", .string, .required)
            .field("spec", .string, .required)
            .field("created_at", .datetime)
            .unique(on: "pipeline_id", "spec_hash")
            .unique(on: "pipeline_id", "number")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("pipeline_versions").delete()
        try await database.schema("pipelines").delete()
    }
}
