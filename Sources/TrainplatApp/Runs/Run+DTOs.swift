import FluentKit
import Foundation
import SQLKit
import TrainplatCore

struct RunDTO: Encodable, Sendable {
    var id: UUID?
    var projectID: UUID
    var pipelineID: UUID
    var pipelineVersionID: UUID
    var status: RunState
    var params: JSONObject
    var logicalTime: Date
    var reason: String?
    var createdAt: Date?
    var startedAt: Date?
    var finishedAt: Date?
    var tasks: [TaskRunDTO]?

    init(_ run: PipelineRun, tasks: [TaskRunDTO]?) {
        id = run.id
        projectID = run.$project.id
        pipelineID = run.$pipeline.id
        pipelineVersionID = run.$version.id
        status = run.status
        params = run.params
        logicalTime = run.logicalTime
        reason = run.reason
        createdAt = run.createdAt
        startedAt = run.startedAt
        finishedAt = run.finishedAt
        self.tasks = tasks
    }
}

struct TaskRunDTO: Codable, Sendable {
    var id: UUID?
    var name: String
    var status: TaskState
    var attempts: Int
    var maxAttempts: Int
    var progress: Double
    var progressMessage: String?
    var reason: String?
    /// The earlier task whose outputs this one reused (cache hit); nil when it ran.
    var cachedFrom: UUID?
    var outputs: JSONObject?
    var metrics: JSONObject?
    var startedAt: Date?
    var finishedAt: Date?

    /// A run's tasks, oldest first, read as plain `task_runs` rows: a run of thousands of
    /// tasks loaded that many Fluent models, each with its outputs and metrics, on every
    /// `GET /runs/:id`, the request a dashboard polls. The columns are the fields' names in
    /// snake case, `attempt_count` renamed.
    static func all(ofRun runID: UUID, on database: any Database) async throws -> [TaskRunDTO] {
        try await database.sql.select()
            .columns("id", "name", "status", "max_attempts", "progress", "progress_message", "reason", "cached_from", "outputs", "metrics")
            .columns("started_at", "finished_at").column("attempt_count", as: "attempts")
            .from(TaskRun.schema).where("run_id", .equal, runID).orderBy("created_at")
            .all(decoding: TaskRunDTO.self, with: SQLRowDecoder(keyDecodingStrategy: .convertFromSnakeCase))
    }
}

struct TaskAttemptDTO: Encodable, Sendable {
    var number: Int
    var status: String
    var exitCode: Int?
    var reason: String?
    var startedAt: Date?
    var finishedAt: Date?

    init(_ attempt: TaskAttempt) {
        number = attempt.number
        status = attempt.status.rawValue
        exitCode = attempt.exitCode
        reason = attempt.reason
        startedAt = attempt.startedAt
        finishedAt = attempt.finishedAt
    }
}
