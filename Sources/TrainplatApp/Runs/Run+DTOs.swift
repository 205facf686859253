import Foundation
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

    init(_ run: PipelineRun, tasks: [TaskRun]?) {
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
        self.tasks = tasks?.map(TaskRunDTO.init)
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

    init(_ task: TaskRun) {
        id = task.id
        name = task.name
        status = task.status
        attempts = task.attemptCount
        maxAttempts = task.maxAttempts
        progress = task.progress
        progressMessage = task.progressMessage
        reason = task.reason
        cachedFrom = task.cachedFrom
        outputs = task.outputs
        metrics = task.metrics
        startedAt = task.startedAt
        finishedAt = task.finishedAt
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
