import FluentKit

/// Aliases (movable pointers) and promotion gates of model versions.
struct CreateModelAliases: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("model_aliases")
            .id()
            .field("project_id", .uuid, .required, .references("projects", "id"))
            .field("model_name", .string, .required)
            .field("alias", .string, .required)
            .field("model_version_id", .uuid, .required, .references("model_versions", "id"))
            .field("updated_at", .datetime)
            .unique(on: "project_id", "model_name", "alias")
            .create()
        try await database.schema("model_gates")
            .id()
            .field("project_id", .uuid, .required, .references("projects", "id"))
            .field("model_name", .string, .required)
            .field("rules", .json, .required)
            .field("updated_at", .datetime)
            .unique(on: "project_id", "model_name")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("model_gates").delete()
        try await database.schema("model_aliases").delete()
    }
}
