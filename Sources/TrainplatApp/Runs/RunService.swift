import FluentKit
import Foundation
import SQLKit
import TrainplatCore

/// Starts runs of an exact pipeline version: parameters checked, one pending task row per
/// task, all in one transaction so a run is never half-created.
struct RunService: Sendable {
    static let rowsPerInsert = 500
    let database: any Database
    /// Checked before a run whose mounts write to managed volumes starts; nil: no quotas.
    var quotas: StorageQuotas? = nil
    /// This server's scheduler, woken for a run started or retried; nil: the loop finds it at
    /// its next tick (the scheduler's own cron, tests).
    var wakeup: Wakeup? = nil

    func start(
        versionID: UUID, params: [String: JSONValue], userID: UUID, logicalTime: Date = Date(), scheduledFor: Date? = nil
    ) async throws -> PipelineRun {
        guard let version = try await PipelineVersion.find(versionID, on: database),
            let pipeline = try await Pipeline.findWithoutConfig(version.$pipeline.id, on: database)
        else { throw NotFound(resource: "pipeline version", id: versionID.uuidString) }
        let spec = try SpecParser.parse(version.spec, knownPrograms: TaskPrograms.builtIn)
        let resolved = try ParamValues.resolve(params, against: spec.params)
        try await quotas?.checkBeforeRun(spec, projectID: pipeline.$project.id, userID: userID)
        let run = try await database.writeTransaction { database in
            let run = PipelineRun(
                projectID: pipeline.$project.id, pipelineID: try pipeline.requireID(), versionID: versionID, userID: userID,
                params: resolved, logicalTime: logicalTime)
            run.scheduledFor = scheduledFor
            try await run.create(on: database)
            try await Self.insertTaskRows(of: spec, runID: try run.requireID(), on: database)
            return run
        }
        wakeup?.signalRunsChanged()
        return run
    }

    /// How far apart a run's tasks' `created_at` are, in seconds: two microseconds. Times
    /// reach the application to the microsecond, PostgreSQL's driver truncating them on the
    /// way in and SQLiteNIO rounding them on the way out, each off a `Double`'s error, so
    /// one-microsecond steps could come back as the same time.
    static let createdAtStep = 2e-6

    /// One pending row per task, many to a statement (one statement per task was most of
    /// starting a 1,000-task run), in slices under SQLite's and PostgreSQL's limits on bound
    /// values. `created_at` counts up `createdAtStep` per task in the spec's order, which the
    /// oldest-first reads keep (a run's tasks in the API, the fair share's ready candidates);
    /// Fluent's batch create stamps each row in a task of its own, in no fixed order.
    private static func insertTaskRows(of spec: PipelineSpec, runID: UUID, on database: any Database) async throws {
        let createdAt = Date()
        for start in stride(from: 0, to: spec.tasks.count, by: rowsPerInsert) {
            var insert = database.sql.insert(into: TaskRun.schema)
                .columns("id", "run_id", "name", "status", "attempt_count", "max_attempts", "progress", "created_at")
            for position in start..<min(start + rowsPerInsert, spec.tasks.count) {
                let task = spec.tasks[position]
                insert = insert.values(
                    SQLBind(UUID()), SQLBind(runID), SQLBind(task.name), SQLBind(TaskState.pending.rawValue), SQLBind(0),
                    SQLBind(task.retries.count + 1), SQLBind(0.0), SQLBind(createdAt.addingTimeInterval(Double(position) * createdAtStep)))
            }
            try await insert.run()
        }
    }
}

extension RunService {
    /// Cancels every unfinished task (running ones are stopped by their scheduler within one
    /// heartbeat) and the run. Returns false when the run had already finished.
    func cancel(runID: UUID, transitions: TaskTransitions) async throws -> Bool {
        try await stop(runID: runID, as: .cancelled, reason: "cancelled", taskReason: "the run was cancelled", transitions: transitions)
    }

    /// Cancels every unfinished task and ends the run in `state` (cancelled, or failed when
    /// the scheduler cannot go on with it), with the reasons given.
    func stop(runID: UUID, as state: RunState, reason: String, taskReason: String, transitions: TaskTransitions) async throws -> Bool {
        let unfinished = try await TaskRun.query(on: database).filter(\.$run.$id == runID)
            .filter(\.$status ~~ [.pending, .ready, .running, .retrying]).all()
        try await transitions.move(unfinished.map { try $0.requireID() }, to: .cancelled, reason: taskReason)
        return try await transitions.moveRun(runID, to: state, from: [.queued, .running], reason: reason)
    }

    /// Runs a failed or cancelled run again from where it stopped: succeeded tasks keep their
    /// outputs; the others go back to pending with a fresh retry budget.
    func retry(runID: UUID, transitions: TaskTransitions) async throws -> Bool {
        guard let run = try await PipelineRun.find(runID, on: database), [.failed, .cancelled].contains(run.status) else { return false }
        let specs = SpecCache()
        let again = try await TaskRun.query(on: database).filter(\.$run.$id == runID)
            .filter(\.$status ~~ TaskState.pending.allowedSources).all()
        for task in again {
            let budget = (try await specs.task(named: task.name, versionID: run.$version.id, on: database)?.retries.count ?? 0) + 1
            try await transitions.move(
                try task.requireID(), to: .pending, set: [.maxAttempts: task.attemptCount + budget, .reason: Optional<String>.none])
        }
        let queued = try await transitions.moveRun(runID, to: .queued, from: [.failed, .cancelled])
        if queued { wakeup?.signalRunsChanged() }
        return queued
    }
}

/// A resource that does not exist (or, once tenants arrive, that the caller may not see).
struct NotFound: Error, CustomStringConvertible {
    var resource: String
    var id: String
    var description: String { "\(resource) '\(id)' not found" }
}
