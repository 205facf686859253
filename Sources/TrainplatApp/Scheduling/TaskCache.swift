import FluentKit
import Foundation
import TrainplatCore

/// `cache: true`: a task whose program, command and resolved inputs hash like an earlier
/// success in the same project does not run; it takes that task's outputs and says so
/// (`cached_from`, and the attempt's reason).
struct TaskCache: Sendable {
    let database: any Database
    let transitions: TaskTransitions

    static func key(_ spec: TaskSpec, command: [String], arguments: JSONObject) -> String {
        let identity: JSONValue = .object([
            "uses": spec.uses.map(JSONValue.string) ?? .null,
            "image": spec.image.map(JSONValue.string) ?? .null,
            // A `uses` command names the local interpreter; only the program identifies the work.
            "command": spec.uses == nil ? .array(command.map(JSONValue.string)) : .null,
            "with": .object(arguments),
        ])
        return ContentHash.sha256(identity.canonicalJSON())
    }

    /// Records `key` on the task; on a hit, completes the task from the earlier one and
    /// returns true (nothing is run).
    func reuse(taskID: UUID, attempt: AttemptStore.Attempt, key: String, projectID: UUID) async throws -> Bool {
        try await TaskRun.query(on: database).filter(\.$id == taskID).set(\.$cacheKey, to: key).update()
        guard let earlier = try await TaskRun.query(on: database)
            .join(PipelineRun.self, on: \TaskRun.$run.$id == \PipelineRun.$id)
            .filter(PipelineRun.self, \.$project.$id == projectID)
            .filter(\.$cacheKey == key).filter(\.$status == .succeeded).filter(\.$id != taskID)
            .sort(\.$finishedAt, .descending).first()
        else { return false }
        let earlierID = try earlier.requireID()
        try await AttemptStore(database: database).close(
            attempt, status: .succeeded,
            reason: "cache hit: reused the outputs of task \(earlier.name) in run \(earlier.$run.id.uuidString.lowercased())")
        // The outputs in the same guarded update as the state, as for a task that ran.
        try await transitions.move(taskID, to: .succeeded, from: [.running], set: [
            .outputs: earlier.outputs, .metrics: earlier.metrics, .cachedFrom: earlierID, .progress: 1.0, .progressMessage: "cached",
        ])
        return true
    }
}
