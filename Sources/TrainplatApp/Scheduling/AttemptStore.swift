import FluentKit
import Foundation
import SQLKit
import TrainplatCore

/// An attempt's reads and writes as plain SQL. An attempt is the scheduler's hottest path,
/// and loading and saving Fluent models there cost reflection over every field of the
/// task, its run, its pipeline and the attempt on each step (a tenth of a step's CPU in
/// profiles of a 1,000-task chain).
struct AttemptStore: Sendable {
    let database: any Database

    private var sql: any SQLDatabase { database.sql }

    /// What an attempt needs to know of its task, the task's run and the run's pipeline.
    struct Subject: Decodable, Sendable {
        let taskID: UUID
        let name: String
        let maxAttempts: Int
        let runID: UUID
        let versionID: UUID
        let projectID: UUID
        let userID: UUID
        let params: JSONObject
        let logicalTime: Date
        let pipelineName: String

        enum CodingKeys: String, CodingKey {
            case taskID = "task_id", name, maxAttempts = "max_attempts", runID = "run_id", versionID = "pipeline_version_id"
            case projectID = "project_id", userID = "triggered_by", params, logicalTime = "logical_time", pipelineName = "pipeline_name"
        }
    }

    /// One attempt as the runner keeps it while the process runs.
    struct Attempt: Sendable {
        let id: UUID
        let number: Int
        let workDirectory: String
        var logPath: String { workDirectory + "/task.log" }
    }

    /// The task with its run and pipeline, in one statement; nil when the task is gone.
    func subject(of taskID: UUID) async throws -> Subject? {
        try await sql.raw("""
            SELECT t.id AS task_id, t.name, t.max_attempts, r.id AS run_id, r.pipeline_version_id, r.project_id,
                r.triggered_by, r.params, r.logical_time, p.name AS pipeline_name
            FROM \(ident: TaskRun.schema) t
            JOIN \(ident: PipelineRun.schema) r ON t.run_id = r.id
            JOIN \(ident: Pipeline.schema) p ON r.pipeline_id = p.id
            WHERE t.id = \(bind: taskID)
            """).first(decoding: Subject.self)
    }

    /// Where a task's attempts keep their directories: `<runs>/<run>/<task>/attempt-<n>`.
    static func directoryPrefix(runsDirectory: String, runID: UUID, task: String) -> String {
        "\(runsDirectory)/\(runID.uuidString.lowercased())/\(task)"
    }

    /// Records attempt `number`, which the task's claim counted (`TaskTransitions.claim`):
    /// numbers follow the count, so none is used twice; one whose server died between the
    /// claim and this insert is recorded as lost when its lease is recovered.
    func open(_ number: Int, of taskID: UUID, directoryPrefix: String) async throws -> Attempt {
        let attempt = Attempt(id: UUID(), number: number, workDirectory: "\(directoryPrefix)/attempt-\(number)")
        try await sql.insert(into: TaskAttempt.schema)
            .columns("id", "task_run_id", "number", "status", "work_dir", "log_path", "started_at")
            .values(
                SQLBind(attempt.id), SQLBind(taskID), SQLBind(attempt.number), SQLBind(TaskAttempt.Status.running.rawValue),
                SQLBind(attempt.workDirectory), SQLBind(attempt.logPath), SQLBind(Date()))
            .run()
        return attempt
    }

    func recordProcess(_ pid: Int32, of attempt: Attempt) async throws {
        try await sql.update(TaskAttempt.schema).set("pid", to: Int(pid)).where("id", .equal, attempt.id).run()
    }

    /// The attempt's end, with the reason a person can act on when it failed.
    func close(_ attempt: Attempt, status: TaskAttempt.Status, reason: String?, exitCode: Int32? = nil) async throws {
        try await sql.update(TaskAttempt.schema)
            .set("status", to: status.rawValue).set("reason", to: reason).set("exit_code", to: exitCode.map(Int.init))
            .set("finished_at", to: Date())
            .where("id", .equal, attempt.id).run()
    }

}
