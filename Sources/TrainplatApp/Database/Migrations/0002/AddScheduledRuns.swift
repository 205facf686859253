import FluentKit
import SQLKit

/// Runs started by a schedule remember their interval; the unique index makes a second
/// scheduler (or a restart) unable to start the same interval twice.
struct AddScheduledRuns: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("pipeline_runs").field("scheduled_for", .datetime).update()
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.create(index: "pipeline_runs_schedule_unique").unique().on("pipeline_runs")
            .column("pipeline_id").column("scheduled_for").run()
    }

    func revert(on database: any Database) async throws {
        if let sql = database as? any SQLDatabase {
            try await sql.drop(index: "pipeline_runs_schedule_unique").run()
        }
        try await database.schema("pipeline_runs").deleteField("scheduled_for").update()
    }
}
