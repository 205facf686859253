import FluentKit
import Foundation
import TrainplatCore

/// One execution of one exact pipeline version.
final class PipelineRun: Model, @unchecked Sendable {
    static let schema = "pipeline_runs"

    @ID(key: .id) var id: UUID?

    @Parent(key: "project_id") var project: Project
    @Parent(key: "pipeline_id") var pipeline: Pipeline
    @Parent(key: "pipeline_version_id") var version: PipelineVersion
    @Parent(key: "triggered_by") var triggeredBy: User

    @Field(key: "status") var status: RunState
    @Field(key: "params") var params: JSONObject
    @Field(key: "logical_time") var logicalTime: Date
    @OptionalField(key: "reason") var reason: String?
    /// The schedule interval this run is for; nil for runs started by hand.
    @OptionalField(key: "scheduled_for") var scheduledFor: Date?

    @Timestamp(key: "created_at", on: .create) var createdAt: Date?
    @OptionalField(key: "started_at") var startedAt: Date?
    @OptionalField(key: "finished_at") var finishedAt: Date?

    @Children(for: \.$run) var tasks: [TaskRun]

    init() {}

    init(projectID: UUID, pipelineID: UUID, versionID: UUID, userID: UUID, params: JSONObject, logicalTime: Date) {
        self.$project.id = projectID
        self.$pipeline.id = pipelineID
        self.$version.id = versionID
        self.$triggeredBy.id = userID
        self.status = .queued
        self.params = params
        self.logicalTime = logicalTime
    }
}
