import FluentKit
import Foundation
import SQLKit
import TrainplatCore

/// An attempt's reads and writes as plain SQL. An attempt is the scheduler's hottest path,
/// and loading and saving Fluent models there cost reflection over every field of the
/// task, its run, its pipeline and the attempt on each step (a tenth of a step's CPU in
/// profiles of a 1,000-task chain).
struct AttemptStore: Sendable {
    let database: any Database

    private var sql: any SQLDatabase { database.sql }

    /// What an attempt needs to know of its task (from its claim) and of the task's run.
    struct Subject: Sendable {
        let task: TaskTransitions.Claim
        let run: RunFacts
    }

    /// A run's facts that every attempt of it needs; none of them changes while the run lives.
    struct RunFacts: Decodable, Sendable {
        let versionID: UUID
        let projectID: UUID
        let userID: UUID
        let params: JSONObject
        let logicalTime: Date
        let pipelineName: String

        enum CodingKeys: String, CodingKey {
            case versionID = "pipeline_version_id", projectID = "project_id", userID = "triggered_by", params
            case logicalTime = "logical_time", pipelineName = "pipeline_name"
        }
    }

    /// One attempt as the runner keeps it while the process runs. Its row is written as it
    /// closes, or earlier if its process still runs at its first tick (`recordRunning`): an
    /// attempt of a few milliseconds costs one statement for its row, not two.
    struct Attempt: Sendable {
        let id: UUID
        let taskID: UUID
        let number: Int
        let workDirectory: String
        let startedAt: Date
        /// Its process once started, shared by the copies of this attempt.
        let process = AttemptProcess()
        var logPath: String { Self.logPath(workDirectory: workDirectory) }

        static func workDirectory(directoryPrefix: String, number: Int) -> String {
            "\(directoryPrefix)/attempt-\(number)"
        }

        static func logPath(directoryPrefix: String, number: Int) -> String {
            logPath(workDirectory: workDirectory(directoryPrefix: directoryPrefix, number: number))
        }

        private static func logPath(workDirectory: String) -> String {
            workDirectory + "/task.log"
        }

        /// Creates the attempt's directory, and its task's first when missing: two or three
        /// `mkdir`s, where `createDirectory(withIntermediateDirectories:)` looks at every level
        /// first (a twentieth of a chain's step). Anything unusual (the run's directory
        /// missing, a file in the way) goes through Foundation, which reports it.
        func createDirectory() throws {
            if mkdir(workDirectory, 0o777) == 0 { return }
            if errno == ENOENT, let slash = workDirectory.lastIndex(of: "/") {
                let taskDirectory = String(workDirectory[..<slash])
                if mkdir(taskDirectory, 0o777) == 0 || errno == EEXIST, mkdir(workDirectory, 0o777) == 0 { return }
            }
            try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        }

        /// Attempt `number`, which the task's claim counted (`TaskTransitions.claim`): numbers
        /// follow the count, so none is used twice; one whose server died before its row was
        /// written is recorded as lost when its lease is recovered.
        init(_ number: Int, of taskID: UUID, directoryPrefix: String) {
            (id, self.taskID, self.number, startedAt) = (Self.id(number, of: taskID), taskID, number, Date())
            workDirectory = Self.workDirectory(directoryPrefix: directoryPrefix, number: number)
        }

        /// The same id for the same attempt of a task, whoever writes its row: a succeeded
        /// attempt's row written behind its task's move (`SucceededAttempts`) and one that a
        /// repair or a recovery wrote for it meanwhile are one row, never two.
        static func id(_ number: Int, of taskID: UUID) -> UUID {
            var name = withUnsafeBytes(of: taskID.uuid) { Data($0) }
            withUnsafeBytes(of: Int64(number).bigEndian) { name.append(contentsOf: $0) }
            return ContentHash.uuid(named: name)
        }
    }

    /// The run with its pipeline's name, in one statement; nil when the run is gone.
    func runFacts(of runID: UUID) async throws -> RunFacts? {
        try await sql.raw("""
            SELECT r.pipeline_version_id, r.project_id, r.triggered_by, r.params, r.logical_time, p.name AS pipeline_name
            FROM \(ident: PipelineRun.schema) r JOIN \(ident: Pipeline.schema) p ON r.pipeline_id = p.id
            WHERE r.id = \(bind: runID)
            """).first(decoding: RunFacts.self)
    }

    /// Where a task's attempts keep their directories: `<runs>/<run>/<task>/attempt-<n>`.
    static func directoryPrefix(runsDirectory: String, runID: UUID, task: String) -> String {
        "\(runsDirectory)/\(runID.uuidString.lowercased())/\(task)"
    }

    /// The row of an attempt whose process still runs at its first tick, so that its state
    /// and log can be followed while it runs. Written once; a no-op afterwards.
    func recordRunning(_ attempt: Attempt) async throws {
        guard attempt.process.mayWriteRunningRow() else { return }
        try await sql.raw("\(Self.insertInto) VALUES \(row(attempt, status: .running))").run()
    }

    /// The attempt's end, with the reason a person can act on when it failed; writes the
    /// whole row when no process started (a cache hit, a task that could not be prepared).
    func close(_ attempt: Attempt, status: TaskAttempt.Status, reason: String?, exitCode: Int32? = nil) async throws {
        try await writeClosed([row(attempt, status: status, reason: reason, exitCode: exitCode.map(Int.init), finishedAt: Date())])
    }

    /// Succeeded attempts' rows, many to a statement: they are written behind their tasks'
    /// moves (see `SucceededAttempts`). A row that a repair wrote meanwhile gives way.
    func closeSucceeded(_ attempts: [SucceededAttempts.Closed]) async throws {
        try await writeClosed(attempts.map { row($0.attempt, status: .succeeded, exitCode: $0.exitCode.map(Int.init), finishedAt: $0.finishedAt) })
    }

    /// Rows for the succeeded tasks whose last attempt has none, or a `running` one (written
    /// at the attempt's first tick): a server that ended before writing the rows it kept
    /// behind (`SucceededAttempts`) left them so. Each is recorded succeeded, with the task's
    /// times and a reason that says what happened; a row that the server which ran it wrote
    /// meanwhile stays as it is.
    @discardableResult
    func recordUnrecordedSuccesses(runsDirectory: String) async throws -> Int {
        let ids = try await sql.raw("""
            SELECT t.id FROM \(unsafeRaw: TaskRun.schema) t
            WHERE t.status = \(bind: TaskState.succeeded.rawValue) AND t.attempt_count > 0 AND NOT EXISTS (
                SELECT 1 FROM \(unsafeRaw: TaskAttempt.schema) a
                WHERE a.task_run_id = t.id AND a.number = t.attempt_count AND a.status <> \(bind: TaskAttempt.Status.running.rawValue))
            """).all().map { try $0.decode(column: "id", as: UUID.self) }
        guard !ids.isEmpty else { return 0 }
        // Rare (after a server ended) and off the hot path, so the tasks are read as models.
        let tasks = try await TaskRun.query(on: database).filter(\.$id ~~ ids).all()
        try await writeClosed(tasks.map { task in
            let prefix = Self.directoryPrefix(runsDirectory: runsDirectory, runID: task.$run.id, task: task.name)
            let attempt = Attempt(task.attemptCount, of: try task.requireID(), directoryPrefix: prefix)
            let finished = task.finishedAt ?? Date()
            return row(attempt, status: .succeeded, startedAt: task.startedAt ?? finished, reason: Self.unrecordedReason, finishedAt: finished)
        })
        return ids.count
    }

    /// Closed attempts' rows, `rowsPerStatement` to a statement. Over an existing row only
    /// while it is open: `running`, or written by the repair. A row that a recovery closed
    /// as lost (the server that ran the attempt was only slow, and the task has run again
    /// since) keeps that verdict, which the count of lost attempts relies on.
    private func writeClosed(_ rows: [SQLQueryString]) async throws {
        for start in stride(from: 0, to: rows.count, by: Self.rowsPerStatement) {
            let batch = rows[start..<min(start + Self.rowsPerStatement, rows.count)]
            try await sql.raw("""
                \(Self.insertInto) VALUES \(batch.joined(separator: ", ")) ON CONFLICT (id) DO UPDATE SET status = excluded.status,
                reason = excluded.reason, exit_code = excluded.exit_code, finished_at = excluded.finished_at
                WHERE \(unsafeRaw: TaskAttempt.schema).status = \(bind: TaskAttempt.Status.running.rawValue)
                OR \(unsafeRaw: TaskAttempt.schema).reason = \(bind: Self.unrecordedReason)
                """).run()
        }
    }

    /// Eleven binds a row, well under SQLite's limit of 32,766 binds a statement.
    private static let rowsPerStatement = 500

    static let unrecordedReason = "recorded after the server that ran it ended before writing this row; the task's state says it succeeded"

    /// As SQL text rather than SQLKit's builder, which quotes and escapes every column name
    /// on every statement (4% of the server's CPU in a fan-out's profile, for two statements
    /// per attempt). The names are this schema's.
    private static let insertInto: SQLQueryString = """
        INSERT INTO \(unsafeRaw: TaskAttempt.schema)
        (id, task_run_id, number, status, work_dir, log_path, started_at, pid, reason, exit_code, finished_at)
        """

    /// One row's values, in `insertInto`'s order, in parentheses.
    private func row(
        _ attempt: Attempt, status: TaskAttempt.Status, startedAt: Date? = nil, reason: String? = nil, exitCode: Int? = nil, finishedAt: Date? = nil
    ) -> SQLQueryString {
        let values: [any Encodable & Sendable] = [
            attempt.id, attempt.taskID, attempt.number, status.rawValue, attempt.workDirectory, attempt.logPath, startedAt ?? attempt.startedAt,
            attempt.process.id.map(Int.init), reason, exitCode, finishedAt,
        ]
        return "(\(binds: values))"
    }
}

/// `RunFacts` by run id, so a run of thousands of tasks reads its run once rather than per
/// attempt. Bounded: past `capacity` runs it starts again empty.
final class RunFactsCache: @unchecked Sendable {
    private var entries: [UUID: AttemptStore.RunFacts] = [:]
    private let lock = NSLock()
    private let capacity = 1000

    func facts(of runID: UUID, store: AttemptStore) async throws -> AttemptStore.RunFacts? {
        if let cached = lock.withLock({ entries[runID] }) { return cached }
        guard let facts = try await store.runFacts(of: runID) else { return nil }
        lock.withLock {
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[runID] = facts
        }
        return facts
    }
}

/// An attempt's process id as the executor reports it, and whether the attempt's running row
/// has been written (at most once).
final class AttemptProcess: @unchecked Sendable {
    private let lock = NSLock()
    private var pid: Int32?
    private var runningRowWritten = false

    var id: Int32? { lock.withLock { pid } }

    func started(as pid: Int32) {
        lock.withLock { self.pid = pid }
    }

    /// True once, when the process has started: the caller writes the running row then.
    func mayWriteRunningRow() -> Bool {
        lock.withLock {
            guard pid != nil, !runningRowWritten else { return false }
            runningRowWritten = true
            return true
        }
    }
}
