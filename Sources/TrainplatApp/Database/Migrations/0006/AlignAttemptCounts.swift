import FluentKit
import SQLKit

/// Attempt numbers now follow `task_runs.attempt_count`, which a task's claim raises
/// (`TaskTransitions.claim`). Older servers wrote the attempt first and the count second, so
/// one killed in between left a count behind its attempts; raising those counts keeps the
/// next attempt from reusing a number.
struct AlignAttemptCounts: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.sql.raw("""
            UPDATE task_runs SET attempt_count = (SELECT MAX(number) FROM task_attempts WHERE task_run_id = task_runs.id)
            WHERE attempt_count < (SELECT MAX(number) FROM task_attempts WHERE task_run_id = task_runs.id)
            """).run()
    }

    /// Nothing to undo: the raised counts are the true ones.
    func revert(on database: any Database) async throws {}
}
