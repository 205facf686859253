import FluentKit
import Foundation
import TrainplatCore

extension TaskRunner {
    /// Records the attempt's end: outputs and registrations on success; otherwise a failed
    /// attempt with a reason a person can act on, and a retry while the policy allows one.
    /// Answers the task's new state when it is final (see `run(taskID:)`).
    func finish(
        subject: AttemptStore.Subject, attempt: AttemptStore.Attempt, end: AttemptEnd, provenance: Provenance, retries: RetryPolicy
    ) async throws -> TaskState? {
        let taskID = subject.task.taskID
        var failure = Self.failureReason(end, logPath: attempt.logPath)
        var outputs: TaskContract.Outputs?
        if failure == nil {
            do {
                var reported = try TaskContract.readOutputs(directory: attempt.workDirectory)
                try await register(reported, provenance: provenance)
                if let promotion = reported.modelPromotion {
                    // Moved or refused by the gate, the task succeeded; its outputs say which.
                    reported.values["promotion"] = try await promote(promotion, provenance: provenance)
                }
                outputs = reported
            } catch {
                failure = error.description
            }
        }
        let exitCode: Int32? = if case .exited(let code) = end { code } else { nil }
        if let outputs {
            // The attempt's row is written behind the task's move (see `SucceededAttempts`).
            succeeded.keep(attempt, exitCode: exitCode)
            let success = TaskTransitions.Success(taskID: taskID, outputs: outputs.values, metrics: outputs.metrics.mapValues(JSONValue.double))
            guard try await successes.submit(success) else { return nil }
            logger.info("task succeeded", metadata: ["task": "\(subject.task.name)", "attempt": "\(attempt.number)"])
            return .succeeded
        }
        try await store.close(attempt, status: .failed, reason: failure, exitCode: exitCode)
        if end == .interrupted {
            try await requeueInterrupted(taskID: taskID, name: subject.task.name, maxAttempts: subject.task.maxAttempts, reason: failure)
        } else if let failure {
            return try await recordFailure(
                taskID: taskID, name: subject.task.name, attempt: attempt.number, maxAttempts: subject.task.maxAttempts, reason: failure, retries: retries)
        }
        return nil
    }

    private func register(_ outputs: TaskContract.Outputs, provenance: Provenance) async throws(TaskContract.ContractError) {
        if let fields = outputs.trainingSetVersion {
            _ = try await TrainingSetRegistration.register(fields, provenance: provenance, on: database)
        }
        if let fields = outputs.modelVersion {
            _ = try await ModelVersionRegistration.register(fields, provenance: provenance, on: database)
        }
        if let fields = outputs.modelEvaluation {
            try await ModelVersionRegistration.attachEvaluation(fields, projectID: provenance.projectID, on: database)
        }
        for move in outputs.tierMoves {
            try await TrainingSetRegistration.applyTierMove(move, projectID: provenance.projectID, on: database)
        }
    }

    /// A pipeline promotes for the user who started its run, with that user's role today:
    /// a run cannot move an alias its user could not move through the API.
    private func promote(_ fields: [String: JSONValue], provenance: Provenance) async throws(TaskContract.ContractError) -> JSONValue {
        let reader = ReportedFields(fields, prefix: "model_promotion")
        let artifactHash = try reader.string("artifact_hash")
        let alias = try reader.optionalString("alias") ?? "production"
        guard SpecNames.isIdentifier(alias) else {
            throw TaskContract.ContractError(description: "model_promotion.alias '\(alias)' is not a valid alias name")
        }
        do {
            guard let candidate = try await ModelVersion.query(on: database)
                .filter(\.$project.$id == provenance.projectID).filter(\.$artifactHash == artifactHash).first()
            else {
                throw TaskContract.ContractError(description: "model_promotion names artifact_hash \(artifactHash), which no model version of this project has")
            }
            let caller = try await ProjectAccess(database: database).caller(userID: provenance.userID, in: provenance.projectID)
            guard PermissionPolicy.allows(caller, .update, .modelVersion) else {
                throw TaskContract.ContractError(description: "model_promotion: the run's user may not move aliases in this project (maintainer needed)")
            }
            let outcome = try await ModelPromotion(database: database, audit: AuditLog(database: database))
                .promote(candidate, to: alias, force: false, actorID: provenance.userID)
            if !outcome.moved { logger.info("promotion refused by the gate", metadata: ["reason": "\(outcome.refusal)"]) }
            return outcome.json
        } catch let error as TaskContract.ContractError {
            throw error
        } catch {
            throw TaskContract.ContractError(description: "could not promote the model version: \(error)")
        }
    }

    /// Back to the queue with the interrupted attempt not counted, so a restart runs it again.
    private func requeueInterrupted(taskID: UUID, name: String, maxAttempts: Int, reason: String?) async throws {
        logger.info("task interrupted by shutdown; it will run again", metadata: ["task": "\(name)"])
        try await transitions.move(taskID, to: .retrying, from: [.running], reason: reason, set: [
            .maxAttempts: maxAttempts + 1, .notBefore: Date(),
        ])
    }

    /// Failed for good (answered), or retrying after the backoff (nil: its time to run again
    /// is in the database, not in the scheduler's view).
    private func recordFailure(
        taskID: UUID, name: String, attempt: Int, maxAttempts: Int, reason: String, retries: RetryPolicy
    ) async throws -> TaskState? {
        logger.warning("task attempt failed", metadata: ["task": "\(name)", "attempt": "\(attempt)", "reason": "\(reason)"])
        if attempt < maxAttempts {
            let notBefore = Date().addingTimeInterval(retries.delay(beforeRetry: attempt))
            try await transitions.move(taskID, to: .retrying, from: [.running], reason: reason, set: [.notBefore: notBefore])
            return nil
        }
        let summary = maxAttempts > 1 ? "\(reason) (after \(attempt) attempts)" : reason
        return try await transitions.move(taskID, to: .failed, from: [.running], reason: summary) ? .failed : nil
    }

    /// Nil for a clean exit; otherwise why the attempt failed, with the log's last line.
    static func failureReason(_ end: AttemptEnd, logPath: String) -> String? {
        switch end {
        case .exited(code: 0): return nil
        case .exited(let code):
            let lastLine = TaskContract.logTail(path: logPath, lines: 1)
            return "exited with code \(code)\(lastLine.isEmpty ? "" : ": \(lastLine)")"
        case .signaled(let signal): return "killed by signal \(signal) (\(signalName(signal)))"
        case .timedOut(let seconds): return "timed out after \(Int(seconds))s; the process tree was stopped"
        case .logLimitExceeded(let bytes): return "log exceeded the \(bytes)-byte limit (TRAINPLAT_TASK_LOG_LIMIT_BYTES); the process tree was stopped"
        case .stopped(let reason): return "stopped: \(reason)"
        case .interrupted: return "interrupted: the server shut down while the task ran; it will run again"
        case .launchFailed(let reason): return reason
        }
    }

    private static func signalName(_ signal: Int32) -> String {
        [1: "SIGHUP", 2: "SIGINT", 6: "SIGABRT", 9: "SIGKILL", 11: "SIGSEGV", 15: "SIGTERM"][signal] ?? "signal \(signal)"
    }
}
