import FluentKit
import Foundation
import TrainplatCore

/// Starts runs of an exact pipeline version: parameters checked, one pending task row per
/// task, all in one transaction so a run is never half-created.
struct RunService: Sendable {
    let database: any Database

    func start(versionID: UUID, params: [String: JSONValue], userID: UUID, logicalTime: Date = Date()) async throws -> PipelineRun {
        guard let version = try await PipelineVersion.find(versionID, on: database),
            let pipeline = try await Pipeline.find(version.$pipeline.id, on: database)
        else { throw NotFound(resource: "pipeline version", id: versionID.uuidString) }
        let spec = try SpecParser.parse(version.spec, knownPrograms: TaskPrograms.builtIn)
        let resolved = try ParamValues.resolve(params, against: spec.params)
        return try await database.transaction { database in
            let run = PipelineRun(
                projectID: pipeline.$project.id, pipelineID: try pipeline.requireID(), versionID: versionID, userID: userID,
                params: resolved, logicalTime: logicalTime)
            try await run.create(on: database)
            let runID = try run.requireID()
            for task in spec.tasks {
                try await TaskRun(runID: runID, name: task.name, maxAttempts: task.retries.count + 1).create(on: database)
            }
            return run
        }
    }
}

/// A resource that does not exist (or, once tenants arrive, that the caller may not see).
struct NotFound: Error, CustomStringConvertible {
    var resource: String
    var id: String
    var description: String { "\(resource) '\(id)' not found" }
}
