import FluentKit
import Foundation
import SQLKit
import TrainplatCore

/// The few columns each scheduler tick needs, read as plain rows. Whole `TaskRun` models
/// carry outputs and metrics JSON; decoding those for every task of every active run five
/// times a second was the loop's main cost on runs with thousands of tasks.
struct SchedulerQueries: Sendable {
    let database: any Database

    private var sql: any SQLDatabase { database.sql }

    /// A queued or running run, with how many of its tasks are in each state.
    struct ActiveRun: Decodable, Sendable {
        let id: UUID
        let status: String
        let versionID: UUID
        let user: UUID
        let pipeline: UUID
        /// From the rows' per-state counts, not a column.
        var taskCounts: [String: Int] = [:]
        enum CodingKeys: String, CodingKey {
            case id, status, versionID = "pipeline_version_id", user = "triggered_by", pipeline = "pipeline_id"
        }
    }

    struct TaskRow: Decodable, Sendable {
        let id: UUID
        let name: String
        let status: String
        let notBefore: Date?
        enum CodingKeys: String, CodingKey { case id, name, status, notBefore = "not_before" }

        var state: TaskState? { TaskState(rawValue: status) }
    }

    /// Who a ready task belongs to, as fair sharing needs it.
    struct TaskOwner: Decodable, Sendable {
        let id: UUID
        let createdAt: Date?
        let user: UUID
        let pipeline: UUID
        let versionID: UUID
        enum CodingKeys: String, CodingKey {
            case id, createdAt = "created_at", user = "triggered_by", pipeline = "pipeline_id", versionID = "pipeline_version_id"
        }
    }

    /// The active runs and their tasks' counts per state, in one statement: the database
    /// counts, a few rows per run come back, and each tick can tell whether its views of the
    /// runs still hold (`RunViews`). The counts are grouped by `(run_id, status)` alone, so
    /// SQLite reads them off that index without touching a task row; grouped by the run's
    /// columns as well, it fetched every task row and sorted them, 4-5 ms a tick for a
    /// 3,000-task run against 0.4 ms.
    func activeRuns() async throws -> [ActiveRun] {
        let rows = try await sql.raw("""
            SELECT r.id, r.status, r.pipeline_version_id, r.triggered_by, r.pipeline_id, c.status AS task_status, c.tasks
            FROM \(ident: PipelineRun.schema) r LEFT JOIN (
                SELECT run_id, status, COUNT(*) AS tasks FROM \(ident: TaskRun.schema)
                WHERE run_id IN (SELECT id FROM \(ident: PipelineRun.schema) WHERE status IN (\(bind: RunState.queued.rawValue), \(bind: RunState.running.rawValue)))
                GROUP BY run_id, status
            ) c ON c.run_id = r.id
            WHERE r.status IN (\(bind: RunState.queued.rawValue), \(bind: RunState.running.rawValue))
            ORDER BY r.id
            """).all()
        var runs: [ActiveRun] = []
        for row in rows {
            let run = try row.decode(model: ActiveRun.self)
            if runs.last?.id != run.id { runs.append(run) }
            if let status = try row.decode(column: "task_status", as: String?.self) {
                runs[runs.count - 1].taskCounts[status] = try row.decode(column: "tasks", as: Int.self)
            }
        }
        return runs
    }

    func tasks(ofRun runID: UUID) async throws -> [TaskRow] {
        try await sql.select().columns("id", "name", "status", "not_before").from(TaskRun.schema)
            .where("run_id", .equal, runID).all(decoding: TaskRow.self)
    }

    /// The oldest `perGroup` ready tasks of each user's pipeline, oldest first: every user
    /// and pipeline that has a ready task is among the candidates, however long the backlog
    /// of the others (the oldest 1,000 overall, read before, hid a later user's task behind a
    /// bigger run), and a tick decodes no more rows than it could start.
    func readyCandidates(perGroup: Int) async throws -> [TaskOwner] {
        try await sql.raw("""
            SELECT id, created_at, triggered_by, pipeline_id, pipeline_version_id FROM (
                SELECT t.id, t.created_at, r.triggered_by, r.pipeline_id, r.pipeline_version_id,
                    ROW_NUMBER() OVER (PARTITION BY r.triggered_by, r.pipeline_id ORDER BY t.created_at, t.id) AS place
                FROM \(ident: TaskRun.schema) t JOIN \(ident: PipelineRun.schema) r ON t.run_id = r.id
                WHERE t.status = \(bind: TaskState.ready.rawValue)
            ) AS ready
            WHERE place <= \(bind: perGroup)
            ORDER BY created_at, id
            """).all(decoding: TaskOwner.self)
    }
}
