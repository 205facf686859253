import FluentKit

/// An optional s3 object-count quota beside each byte quota.
struct AddObjectQuotas: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("storage_quotas").field("max_objects", .int64).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("storage_quotas").deleteField("max_objects").update()
    }
}
