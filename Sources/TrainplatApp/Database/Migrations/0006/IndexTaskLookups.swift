import FluentKit
import SQLKit

/// The scheduler looks up a run's tasks and a task's attempts on every step. Without these
/// indexes each lookup scanned every task and attempt ever stored, so a step's cost grew
/// with the database's history and a long run's with its own square.
struct IndexTaskLookups: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.sql.create(index: "task_runs_run_status_idx").on("task_runs").column("run_id").column("status").run()
        try await database.sql.create(index: "task_attempts_task_number_idx").on("task_attempts").column("task_run_id").column("number").run()
    }

    func revert(on database: any Database) async throws {
        try await database.sql.drop(index: "task_attempts_task_number_idx").run()
        try await database.sql.drop(index: "task_runs_run_status_idx").run()
    }
}
