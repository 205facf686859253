import FluentKit
import SQLKit

/// Runs, their tasks, and each task's attempts.
struct CreateRuns: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("pipeline_runs")
            .id()
            .field("project_id", .uuid, .required, .references("projects", "id"))
            .field("pipeline_id", .uuid, .required, .references("pipelines", "id"))
            .field("pipeline_version_id", .uuid, .required, .references("pipeline_versions", "id"))
            .field("triggered_by", .uuid, .required, .references("users", "id"))
            .field("status", .string, .required)
            .field("params", .json, .required)
            .field("logical_time", .datetime, .required)
            .field("reason", .string)
            .field("created_at", .datetime)
            .field("started_at", .datetime)
            .field("finished_at", .datetime)
            .create()
        try await database.schema("task_runs")
            .id()
            .field("run_id", .uuid, .required, .references("pipeline_runs", "id", onDelete: .cascade))
            .field("name", .string, .required)
            .field("status", .string, .required)
            .field("attempt_count", .int, .required)
            .field("max_attempts", .int, .required)
            .field("outputs", .json)
            .field("metrics", .json)
            .field("progress", .double, .required)
            .field("progress_message", .string)
            .field("reason", .string)
            .field("not_before", .datetime)
            .field("lease_owner", .string)
            .field("lease_expires_at", .datetime)
            .field("created_at", .datetime)
            .field("started_at", .datetime)
            .field("finished_at", .datetime)
            .unique(on: "run_id", "name")
            .create()
        try await database.schema("task_attempts")
            .id()
            .field("task_run_id", .uuid, .required, .references("task_runs", "id", onDelete: .cascade))
            .field("number", .int, .required)
            .field("status", .string, .required)
            .field("pid", .int)
            .field("exit_code", .int)
            .field("reason", .string)
            .field("work_dir", .string, .required)
            .field("log_path", .string, .required)
            .field("started_at", .datetime)
            .field("finished_at", .datetime)
            .unique(on: "task_run_id", "number")
            .create()
        // The scheduler's hot query: unfinished tasks by state.
        if let sql = database as? any SQLDatabase {
            try await sql.create(index: "task_runs_status_idx").on("task_runs").column("status").run()
            try await sql.create(index: "pipeline_runs_status_idx").on("pipeline_runs").column("status").run()
        }
    }

    func revert(on database: any Database) async throws {
        try await database.schema("task_attempts").delete()
        try await database.schema("task_runs").delete()
        try await database.schema("pipeline_runs").delete()
    }
}
