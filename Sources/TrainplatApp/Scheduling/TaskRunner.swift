import FluentKit
import Foundation
import Logging
import TrainplatCore

/// Runs one attempt of one claimed task through the task contract: prepares its directory
/// and inputs, starts it on the executor, keeps its lease and progress fresh, and records
/// the outcome — registering any versions it reported.
struct TaskRunner: Sendable {
    let database: any Database
    let config: AppConfig
    let transitions: TaskTransitions
    let executor: LocalExecutor
    let owner: String
    let boundPort: BoundPort
    let auth: AuthService
    let sources: FeatureSourceResolver
    let mounts: LocalMounts
    /// Shared with the scheduler: a run of thousands of tasks parses its spec once, not per attempt.
    let specs: SpecCache
    let logger: Logger

    var leaseSeconds: Double { config.heartbeatSeconds * 3 }

    func run(taskID: UUID) async {
        do {
            try await runAttempt(taskID)
        } catch {
            logger.error("task attempt failed inside the control plane", metadata: ["task_id": "\(taskID)", "error": "\(error)"])
            _ = try? await transitions.move(taskID, to: .failed, from: [.running], reason: "control plane error: \(error)")
        }
    }

    private func runAttempt(_ taskID: UUID) async throws {
        guard let task = try await TaskRun.find(taskID, on: database),
            let run = try await PipelineRun.find(task.$run.id, on: database),
            // Only the name: a pipeline row mirrors its newest spec, which a wide run makes
            // large, and decoding it for every attempt made a run's cost grow with its square.
            let pipeline = try await Pipeline.query(on: database).filter(\.$id == run.$pipeline.id).field(\.$id).field(\.$name).first()
        else { throw TaskContract.ContractError(description: "task \(taskID) or its run vanished") }
        let spec = try await specs.spec(versionID: run.$version.id, on: database)
        guard let taskSpec = spec.task(named: task.name) else {
            throw TaskContract.ContractError(description: "task '\(task.name)' is not in pipeline version \(run.$version.id)")
        }
        let runID = try run.requireID()
        let attempt = try await openAttempt(taskID: taskID, directoryPrefix: "\(config.runsDirectory)/\(runID.uuidString.lowercased())/\(task.name)")
        let number = attempt.number
        let directory = attempt.workDirectory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        logger.info("task started", metadata: ["run_id": "\(runID)", "task": "\(task.name)", "attempt": "\(number)"])

        let end: AttemptEnd
        var prepared = LocalMounts.Prepared()
        do {
            let context = try await templateContext(run: run, task: taskSpec)
            let source = try await sources.resolve(
                try Template.render(value: .object(taskSpec.with), in: context).objectValue ?? [:], uses: taskSpec.uses, projectID: run.$project.id)
            try TaskContract.writeInputs(
                directory: directory, task: task.name, uses: taskSpec.uses, runID: runID, logicalTime: run.logicalTime,
                arguments: source.arguments)
            let command: [String]
            if let uses = taskSpec.uses {
                command = [config.pythonExecutable, "-m", "trainplat.tasks", uses]
            } else {
                command = try (taskSpec.command ?? []).map { try Template.render($0, in: context).templateText }
            }
            if taskSpec.cache, try await TaskCache(database: database, transitions: transitions).reuse(
                task: task, attempt: attempt, key: TaskCache.key(taskSpec, command: command, arguments: source.arguments),
                projectID: run.$project.id)
            {
                return
            }
            prepared = try await mounts.prepare(
                taskSpec.mounts, owner: MountOwner(userID: run.$triggeredBy.id.uuidString, projectID: run.$project.id.uuidString),
                userID: run.$triggeredBy.id, projectID: run.$project.id, attemptDirectory: directory, timeoutSeconds: taskSpec.timeoutSeconds)
            end = await execute(
                command: command, taskSpec: taskSpec, task: task, runID: runID, userID: run.$triggeredBy.id, attempt: attempt,
                extraEnvironment: source.environment.merging(prepared.environment) { source, _ in source }, mounts: prepared)
        } catch let error as StorageError {
            end = .launchFailed(reason: "could not prepare the task's mounts: \(error.message)")
        } catch let error as TemplateError {
            end = .launchFailed(reason: "could not render the task's templates: \(error.message)")
        } catch {
            end = .launchFailed(reason: "could not prepare the task: \(error)")
        }
        prepared.removeTemporary()
        let provenance = Provenance(
            projectID: run.$project.id, userID: run.$triggeredBy.id, runID: runID, taskID: taskID,
            defaultName: "\(pipeline.name).\(task.name)")
        try await finish(task: task, attempt: attempt, end: end, provenance: provenance, retries: taskSpec.retries)
    }

    /// Records the next attempt and the task's attempt count in one transaction. The number
    /// follows the attempts already stored, not the count: a server killed between the two
    /// writes of an older version could leave the count behind its attempts.
    private func openAttempt(taskID: UUID, directoryPrefix: String) async throws -> TaskAttempt {
        try await database.transaction { database in
            let last = try await TaskAttempt.query(on: database).filter(\.$task.$id == taskID).max(\.$number) ?? 0
            let number = last + 1
            let directory = "\(directoryPrefix)/attempt-\(number)"
            let attempt = TaskAttempt(taskID: taskID, number: number, workDirectory: directory, logPath: directory + "/task.log")
            try await attempt.create(on: database)
            try await TaskRun.query(on: database).filter(\.$id == taskID)
                .set(\.$attemptCount, to: number).set(\.$progress, to: 0).set(\.$progressMessage, to: nil).update()
            return attempt
        }
    }

    /// Parameters, run facts and the outputs of the tasks this task's templates name (the
    /// validator allowed only its ancestors), so a long chain or a wide run does not load
    /// every finished task's outputs for each attempt.
    private func templateContext(run: PipelineRun, task: TaskSpec) async throws -> TemplateContext {
        let referenced = task.referencedTasks
        var outputs: [String: [String: JSONValue]] = [:]
        if !referenced.isEmpty {
            let finished = try await TaskRun.query(on: database).filter(\.$run.$id == run.requireID())
                .filter(\.$status == .succeeded).filter(\.$name ~~ Array(referenced)).all()
            outputs = Dictionary(uniqueKeysWithValues: finished.map { ($0.name, $0.outputs ?? [:]) })
        }
        return TemplateContext(
            params: run.params, taskOutputs: outputs, runID: try run.requireID().uuidString.lowercased(),
            logicalTime: run.logicalTime)
    }

    private func execute(
        command: [String], taskSpec: TaskSpec, task: TaskRun, runID: UUID, userID: UUID, attempt: TaskAttempt,
        extraEnvironment: [String: String], mounts: LocalMounts.Prepared
    ) async -> AttemptEnd {
        let taskID = task.id ?? UUID()
        let processSpec = TaskProcessSpec(
            command: command,
            environment: environment(
                directory: attempt.workDirectory, runID: runID, taskID: taskID,
                token: auth.taskToken(userID: userID, runID: runID, lifetime: taskSpec.timeoutSeconds ?? 86400)
            ).merging(extraEnvironment) { contract, _ in contract },
            workDirectory: attempt.workDirectory, logPath: attempt.logPath,
            timeoutSeconds: taskSpec.timeoutSeconds, logLimitBytes: config.taskLogLimitBytes)
        let heartbeat = Heartbeat(interval: config.heartbeatSeconds)
        return await executor.run(
            processSpec,
            onStart: { pid in
                attempt.pid = Int(pid)
                try? await attempt.update(on: database)
            },
            onTick: { await tick(taskID: taskID, directory: attempt.workDirectory, heartbeat: heartbeat, mounts: mounts) })
    }

    /// Progress every tick; the lease and mount sizes once per heartbeat interval. A lost
    /// lease stops the task: another scheduler (or a cancellation) owns it now.
    private func tick(taskID: UUID, directory: String, heartbeat: Heartbeat, mounts: LocalMounts.Prepared) async -> TickDecision {
        if let progress = TaskContract.readProgress(directory: directory) {
            try? await TaskRun.query(on: database).filter(\.$id == taskID)
                .set(\.$progress, to: progress.fraction).set(\.$progressMessage, to: progress.message).update()
        }
        guard heartbeat.isDue() else { return .keepRunning }
        if let reason = mounts.overLimit() { return .stop(reason: reason) }
        let renewed = (try? await transitions.renewLease(taskID, owner: owner, leaseSeconds: leaseSeconds)) ?? true
        if renewed { return .keepRunning }
        let state = try? await TaskRun.find(taskID, on: database)?.status
        return .stop(reason: state == .cancelled ? "the run was cancelled" : "the task's lease was lost to another scheduler")
    }

    private func environment(directory: String, runID: UUID, taskID: UUID, token: String) -> [String: String] {
        // Only what a task needs from the server's environment; TRAINPLAT_CACHE_URL selects
        // the data plane's shared extraction cache (Redis in production).
        let inherited = ProcessInfo.processInfo.environment.filter {
            ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "TRAINPLAT_CACHE_URL"].contains($0.key)
        }
        return inherited.merging([
            "TRAINPLAT_TASK_DIR": directory,
            "TRAINPLAT_RUN_ID": runID.uuidString.lowercased(),
            "TRAINPLAT_TASK_ID": taskID.uuidString.lowercased(),
            "TRAINPLAT_API_URL": "http://\(config.host):\(boundPort.value)",
            "TRAINPLAT_DATA_DIR": config.dataDirectory,
            "TRAINPLAT_TOKEN": token,
            "PYTHONUNBUFFERED": "1",
        ]) { _, contract in contract }
    }
}

/// Tells when a periodic action is due; shared by the executor's tick closure.
final class Heartbeat: @unchecked Sendable {
    private let interval: Double
    private var last = Date.distantPast
    private let lock = NSLock()

    init(interval: Double) {
        self.interval = interval
    }

    func isDue() -> Bool {
        lock.withLock {
            guard Date().timeIntervalSince(last) >= interval else { return false }
            last = Date()
            return true
        }
    }
}
