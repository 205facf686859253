import FluentKit

/// Storage quotas per project (user null) and per user in a project; saved mounts get the
/// column that configmap and secret lookups filter on.
struct AddStorageQuotas: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("storage_quotas")
            .id()
            .field("project_id", .uuid, .required, .references("projects", "id"))
            .field("user_id", .uuid, .references("users", "id"))
            .field("max_bytes", .int64, .required)
            .field("updated_at", .datetime)
            .create()
        try await database.schema("storage_mounts").field("source", .string).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("storage_mounts").deleteField("source").update()
        try await database.schema("storage_quotas").delete()
    }
}
