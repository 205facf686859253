import FluentKit
import Foundation
import TrainplatCore

/// One task of one run. `status` only ever changes through `TaskTransitions`' guarded updates.
final class TaskRun: Model, @unchecked Sendable {
    static let schema = "task_runs"

    @ID(key: .id) var id: UUID?

    @Parent(key: "run_id") var run: PipelineRun

    @Field(key: "name") var name: String
    @Field(key: "status") var status: TaskState
    @Field(key: "attempt_count") var attemptCount: Int
    @Field(key: "max_attempts") var maxAttempts: Int
    @OptionalField(key: "outputs") var outputs: JSONObject?
    @OptionalField(key: "metrics") var metrics: JSONObject?
    @Field(key: "progress") var progress: Double
    @OptionalField(key: "progress_message") var progressMessage: String?
    @OptionalField(key: "reason") var reason: String?
    /// When a retrying task may run again.
    @OptionalField(key: "not_before") var notBefore: Date?
    /// The scheduler process holding the task while it runs, and until when its lease lasts.
    @OptionalField(key: "lease_owner") var leaseOwner: String?
    @OptionalField(key: "lease_expires_at") var leaseExpiresAt: Date?
    /// For `cache: true` tasks: the hash of the program, command and resolved inputs.
    @OptionalField(key: "cache_key") var cacheKey: String?
    /// Set when this task reused the outputs of that earlier task instead of running.
    @OptionalField(key: "cached_from") var cachedFrom: UUID?

    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @OptionalField(key: "started_at") var startedAt: Date?
    @OptionalField(key: "finished_at") var finishedAt: Date?

    @Children(for: \.$task) var attempts: [TaskAttempt]

    /// Rows are created by `RunService.start`, many to a statement.
    init() {}
}

/// One process start of a task: its exit, its reason and where its log lies.
final class TaskAttempt: Model, @unchecked Sendable {
    static let schema = "task_attempts"

    enum Status: String, Codable, Sendable {
        case running, succeeded, failed
    }

    @ID(key: .id) var id: UUID?

    @Parent(key: "task_run_id") var task: TaskRun

    @Field(key: "number") var number: Int
    @Field(key: "status") var status: Status
    @OptionalField(key: "pid") var pid: Int?
    @OptionalField(key: "exit_code") var exitCode: Int?
    @OptionalField(key: "reason") var reason: String?
    @Field(key: "work_dir") var workDirectory: String
    @Field(key: "log_path") var logPath: String

    @Timestamp(key: "started_at", on: .create) var startedAt: Date?
    @OptionalField(key: "finished_at") var finishedAt: Date?

    init() {}

    init(taskID: UUID, number: Int, workDirectory: String, logPath: String) {
        self.$task.id = taskID
        self.number = number
        self.status = .running
        self.workDirectory = workDirectory
        self.logPath = logPath
    }
}
