import FluentKit
import FluentSQLiteDriver
import Foundation
import SQLKit
import TrainplatCore

/// Every change of a task's state is one guarded `UPDATE … WHERE status IN (allowed sources)
/// RETURNING id`: of two schedulers racing for the same task, exactly one sees its row back.
struct TaskTransitions: Sendable {
    let metrics: SchedulerMetrics
    /// Where the updates go: the metadata database's pool, or the scheduler loop's own
    /// connection (`LoopConnection`, see `writing(through:)`).
    let sql: any SQLDatabase
    /// The same, on SQLite, for the statements written for SQLite alone (claims and successes).
    let sqlite: (any SQLiteDatabase)?

    init(database: any Database, metrics: SchedulerMetrics) {
        self.init(sql: database.sql, sqlite: database as? any SQLiteDatabase, metrics: metrics)
    }

    private init(sql: any SQLDatabase, sqlite: (any SQLiteDatabase)?, metrics: SchedulerMetrics) {
        self.sql = sql
        self.sqlite = sqlite
        self.metrics = metrics
    }

    /// The same transitions, written through the scheduler loop's own connection.
    func writing(through connection: LoopConnection) -> TaskTransitions {
        TaskTransitions(sql: connection.sql, sqlite: connection.connection, metrics: metrics)
    }

    /// The columns a transition may set besides the state, its reason and `finished_at`.
    /// An enum rather than strings: they go into the statement as written (see `guardedUpdate`).
    enum Field: String, Sendable {
        case outputs, metrics, progress, reason
        case progressMessage = "progress_message", notBefore = "not_before", maxAttempts = "max_attempts", cachedFrom = "cached_from"
    }

    /// Moves `taskID` to `next` if it is in one of `next`'s allowed source states (optionally
    /// narrowed to `from`). Returns whether this caller won the transition.
    @discardableResult
    func move(
        _ taskID: UUID, to next: TaskState, from: [TaskState]? = nil, reason: String? = nil, set extra: [Field: any Encodable & Sendable] = [:]
    ) async throws -> Bool {
        let assignments = extra.sorted { $0.key.rawValue < $1.key.rawValue }.map { field, value -> SQLQueryString in
            "\(unsafeRaw: field.rawValue) = \(bind: value)"
        }
        return try await guardedUpdate([taskID], to: next, from: from, reason: reason, returning: "id", setting: assignments).count == 1
    }

    /// Moves every task of `taskIDs` that is in an allowed source state, in one statement per
    /// `batchSize` tasks; answers those this caller moved. A tick readies a fan-out's
    /// thousand tasks in two statements instead of a thousand.
    @discardableResult
    func move(_ taskIDs: [UUID], to next: TaskState, from: [TaskState]? = nil, reason: String? = nil) async throws -> Set<UUID> {
        let rows = try await guardedUpdate(taskIDs, to: next, from: from, reason: reason, returning: "id")
        return Set(try rows.map { try $0.decode(column: "id", as: UUID.self) })
    }

    /// A column's new value in a transition: SQL of this schema's own (a literal, an
    /// expression of the row), or a value to bind.
    enum ColumnValue: Sendable {
        case sql(String)
        case date(Date)
        case text(String)

        /// For SQLKit's statements.
        var sql: SQLQueryString {
            switch self {
            case .sql(let text): "\(unsafeRaw: text)"
            case .date(let date): "\(bind: date)"
            case .text(let text): "\(bind: text)"
            }
        }
    }

    /// What every move to `next` sets: the state, and a terminal state's finish time.
    static func entering(_ next: TaskState, at now: Date) -> [(column: String, value: ColumnValue)] {
        [("status", .sql(literal(next)))] + (next.isTerminal ? [("finished_at", .date(now))] : [])
    }

    /// A state as an SQL string literal: the raw values are fixed lower-case words, never input.
    static func literal(_ state: TaskState) -> String {
        "'\(state.rawValue)'"
    }

    /// Ids per statement: far below SQLite's and PostgreSQL's limits on bound values.
    static let batchSize = 500

    /// The one guarded `UPDATE` every task transition is (on SQLite, claims and successes are
    /// one statement of their own with the same guards, `TaskTransitions.write`): a row comes
    /// back only to the caller that moved it. A `leaseOwner` moves only tasks running under
    /// that scheduler's lease. Written as SQL text rather than with SQLKit's builder: the
    /// builder quotes and escapes every column name on every statement, and this statement
    /// runs several times per attempt (its serialization was 3-4% of the server's CPU in a
    /// fan-out's profile). The names here are this schema's, never a caller's input.
    func guardedUpdate(
        _ taskIDs: [UUID], to next: TaskState, from: [TaskState]?, reason: String? = nil, leaseOwner: String? = nil, returning columns: String,
        setting fields: [SQLQueryString] = []
    ) async throws -> [any SQLRow] {
        let sources = (from ?? next.allowedSources).filter { next.allowedSources.contains($0) }
        guard !sources.isEmpty else { return [] }
        var assignments = Self.entering(next, at: Date()).map { "\(unsafeRaw: $0.column) = \($0.value.sql)" as SQLQueryString }
        if let reason { assignments.append("reason = \(bind: reason)") }
        let setClause = (assignments + fields).joined(separator: ", ")
        let lease: SQLQueryString = leaseOwner.map { "AND lease_owner = \(bind: $0)" } ?? ""
        var moved: [any SQLRow] = []
        for start in stride(from: 0, to: taskIDs.count, by: Self.batchSize) {
            let ids = taskIDs[start..<min(start + Self.batchSize, taskIDs.count)]
            moved += try await sql.raw("""
                UPDATE \(unsafeRaw: TaskRun.schema) SET \(setClause)
                WHERE id IN (\(binds: Array(ids))) AND status IN (\(binds: sources.map(\.rawValue))) \(lease)
                RETURNING \(unsafeRaw: columns)
                """).all()
        }
        for _ in moved { metrics.recordTransition(to: next) }
        return moved
    }

    /// Extends the lease of a task this scheduler still holds; false when it lost it.
    func renewLease(_ taskID: UUID, owner: String, leaseSeconds: Double) async throws -> Bool {
        try await sql.update(TaskRun.schema)
            .set("lease_expires_at", to: Date().addingTimeInterval(leaseSeconds))
            .where("id", .equal, taskID)
            .where("status", .equal, TaskState.running.rawValue)
            .where("lease_owner", .equal, owner)
            .returning("id").all().count == 1
    }

    /// Moves a run between its states under the same guard discipline.
    @discardableResult
    func moveRun(_ runID: UUID, to next: RunState, from sources: [RunState], reason: String? = nil) async throws -> Bool {
        var update = sql.update(PipelineRun.schema)
            .set("status", to: next.rawValue)
            .where("id", .equal, runID)
            .where("status", .in, sources.map(\.rawValue))
        if next == .running { update = update.set("started_at", to: Date()) }
        if next.isTerminal { update = update.set("finished_at", to: Date()) }
        if next == .queued {
            update = update.set("finished_at", to: Optional<Date>.none).set("reason", to: Optional<String>.none)
        }
        if let reason { update = update.set("reason", to: reason) }
        return try await update.returning("id").all().count == 1
    }
}
