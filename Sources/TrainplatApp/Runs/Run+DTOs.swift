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

struct TaskRunDTO: Encodable, Sendable {
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
    /// `GET /runs/:id`, the request a dashboard polls.
    static func all(ofRun runID: UUID, on database: any Database) async throws -> [TaskRunDTO] {
        try await database.sql.select().columns(Column.allCases.map(\.rawValue)).from(TaskRun.schema)
            .where("run_id", .equal, runID).orderBy("created_at").all(decoding: TaskRunDTO.self)
    }
}

/// Decoded from a `task_runs` row (database column names); encoded with the API's names.
extension TaskRunDTO: Decodable {
    fileprivate enum Column: String, CodingKey, CaseIterable {
        case id, name, status, attemptCount = "attempt_count", maxAttempts = "max_attempts", progress
        case progressMessage = "progress_message", reason, cachedFrom = "cached_from", outputs, metrics
        case startedAt = "started_at", finishedAt = "finished_at"
    }

    init(from decoder: any Decoder) throws {
        let row = try decoder.container(keyedBy: Column.self)
        id = try row.decode(UUID.self, forKey: .id)
        name = try row.decode(String.self, forKey: .name)
        status = try row.decode(TaskState.self, forKey: .status)
        attempts = try row.decode(Int.self, forKey: .attemptCount)
        maxAttempts = try row.decode(Int.self, forKey: .maxAttempts)
        progress = try row.decode(Double.self, forKey: .progress)
        progressMessage = try row.decodeIfPresent(String.self, forKey: .progressMessage)
        reason = try row.decodeIfPresent(String.self, forKey: .reason)
        cachedFrom = try row.decodeIfPresent(UUID.self, forKey: .cachedFrom)
        outputs = try row.decodeIfPresent(JSONObject.self, forKey: .outputs)
        metrics = try row.decodeIfPresent(JSONObject.self, forKey: .metrics)
        startedAt = try row.decodeIfPresent(Date.self, forKey: .startedAt)
        finishedAt = try row.decodeIfPresent(Date.self, forKey: .finishedAt)
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
