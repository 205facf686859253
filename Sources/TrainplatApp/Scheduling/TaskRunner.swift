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
    let runs = RunFactsCache()
    /// Succeeded attempts whose rows the scheduler loop writes behind their tasks' moves.
    let succeeded = SucceededAttempts()
    /// Succeeded tasks, whose moves the scheduler loop writes with the claims they allow.
    let successes: SuccessHandoff
    let logger: Logger

    var leaseSeconds: Double { config.heartbeatSeconds * 3 }

    var store: AttemptStore { AttemptStore(database: database) }

    /// Runs the attempt a claim of this scheduler counted; answers the state it left the task
    /// in when the scheduler can take that as known (succeeded or failed), nil otherwise (the
    /// scheduler reads the run again).
    func run(_ claim: TaskTransitions.Claim) async -> TaskState? {
        do {
            return try await runAttempt(claim)
        } catch {
            logger.error("task attempt failed inside the control plane", metadata: ["task_id": "\(claim.taskID)", "error": "\(error)"])
            _ = try? await transitions.move(claim.taskID, to: .failed, from: [.running], reason: "control plane error: \(error)")
            return nil
        }
    }

    private func runAttempt(_ claim: TaskTransitions.Claim) async throws -> TaskState? {
        guard let run = try await runs.facts(of: claim.runID, store: store) else {
            throw TaskContract.ContractError(description: "the run of task \(claim.taskID) vanished")
        }
        let subject = AttemptStore.Subject(task: claim, run: run)
        let taskID = subject.task.taskID
        guard let taskSpec = try await specs.task(named: subject.task.name, versionID: subject.run.versionID, on: database) else {
            throw TaskContract.ContractError(description: "task '\(subject.task.name)' is not in pipeline version \(subject.run.versionID)")
        }
        let attempt = AttemptStore.Attempt(
            claim.attempt, of: taskID,
            directoryPrefix: AttemptStore.directoryPrefix(runsDirectory: config.runsDirectory, runID: subject.task.runID, task: subject.task.name))
        logger.info("task started", metadata: ["run_id": "\(subject.task.runID)", "task": "\(subject.task.name)", "attempt": "\(attempt.number)"])

        let end: AttemptEnd
        var prepared = LocalMounts.Prepared()
        do {
            // Inside: an attempt that cannot get its directory is closed with the reason.
            try attempt.createDirectory()
            let context = try await templateContext(subject: subject, task: taskSpec)
            let source = try await sources.resolve(
                try Template.render(value: .object(taskSpec.with), in: context).objectValue ?? [:], uses: taskSpec.uses, projectID: subject.run.projectID)
            try TaskContract.writeInputs(
                directory: attempt.workDirectory, task: subject.task.name, uses: taskSpec.uses, runID: subject.task.runID, logicalTime: subject.run.logicalTime,
                arguments: source.arguments)
            let command: [String]
            if let uses = taskSpec.uses {
                command = [config.pythonExecutable, "-m", "trainplat.tasks", uses]
            } else {
                command = try (taskSpec.command ?? []).map { try Template.render($0, in: context).templateText }
            }
            if taskSpec.cache, try await TaskCache(database: database, transitions: transitions).reuse(
                taskID: taskID, attempt: attempt, key: TaskCache.key(taskSpec, command: command, arguments: source.arguments),
                projectID: subject.run.projectID)
            {
                return .succeeded
            }
            prepared = try await mounts.prepare(
                taskSpec.mounts, owner: MountOwner(userID: subject.run.userID.uuidString, projectID: subject.run.projectID.uuidString),
                userID: subject.run.userID, projectID: subject.run.projectID, attemptDirectory: attempt.workDirectory, timeoutSeconds: taskSpec.timeoutSeconds)
            end = await execute(
                command: command, taskSpec: taskSpec, subject: subject, attempt: attempt,
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
            projectID: subject.run.projectID, userID: subject.run.userID, runID: subject.task.runID, taskID: taskID,
            defaultName: "\(subject.run.pipelineName).\(subject.task.name)")
        return try await finish(subject: subject, attempt: attempt, end: end, provenance: provenance, retries: taskSpec.retries)
    }

    /// Parameters, run facts and the outputs of the tasks this task's templates name (the
    /// validator allowed only its ancestors), so a long chain or a wide run does not load
    /// every finished task's outputs for each attempt.
    private func templateContext(subject: AttemptStore.Subject, task: TaskSpec) async throws -> TemplateContext {
        let referenced = task.referencedTasks
        var outputs: [String: [String: JSONValue]] = [:]
        if !referenced.isEmpty {
            let finished = try await TaskRun.query(on: database).filter(\.$run.$id == subject.task.runID)
                .filter(\.$status == .succeeded).filter(\.$name ~~ Array(referenced)).all()
            outputs = Dictionary(uniqueKeysWithValues: finished.map { ($0.name, $0.outputs ?? [:]) })
        }
        return TemplateContext(
            params: subject.run.params, taskOutputs: outputs, runID: subject.task.runID.uuidString.lowercased(), logicalTime: subject.run.logicalTime)
    }

    private func execute(
        command: [String], taskSpec: TaskSpec, subject: AttemptStore.Subject, attempt: AttemptStore.Attempt,
        extraEnvironment: [String: String], mounts: LocalMounts.Prepared
    ) async -> AttemptEnd {
        let taskID = subject.task.taskID
        let processSpec = TaskProcessSpec(
            command: command,
            environment: environment(
                directory: attempt.workDirectory, runID: subject.task.runID, taskID: taskID,
                token: auth.taskToken(userID: subject.run.userID, runID: subject.task.runID, lifetime: taskSpec.timeoutSeconds ?? 86400)
            ).merging(extraEnvironment) { contract, _ in contract },
            workDirectory: attempt.workDirectory, logPath: attempt.logPath,
            timeoutSeconds: taskSpec.timeoutSeconds, logLimitBytes: config.taskLogLimitBytes)
        let heartbeat = Heartbeat(interval: config.heartbeatSeconds)
        return await executor.run(
            processSpec,
            onStart: { pid in attempt.process.started(as: pid) },
            onTick: { await tick(attempt: attempt, heartbeat: heartbeat, mounts: mounts) })
    }

    /// The attempt's running row at the first tick, progress every tick; the lease and mount
    /// sizes once per heartbeat interval. A lost lease stops the task: another scheduler (or
    /// a cancellation) owns it now.
    private func tick(attempt: AttemptStore.Attempt, heartbeat: Heartbeat, mounts: LocalMounts.Prepared) async -> TickDecision {
        let taskID = attempt.taskID
        try? await store.recordRunning(attempt)
        if let progress = TaskContract.readProgress(directory: attempt.workDirectory) {
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
        Self.inheritedEnvironment.merging([
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

extension TaskRunner {
    /// Only what a task needs from the server's environment, read once (copying the whole
    /// environment per attempt showed in profiles); TRAINPLAT_CACHE_URL selects the data
    /// plane's shared extraction cache (Redis in production).
    static let inheritedEnvironment = ProcessInfo.processInfo.environment.filter {
        ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "TRAINPLAT_CACHE_URL"].contains($0.key)
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
