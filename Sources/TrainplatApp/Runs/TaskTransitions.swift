import FluentKit
import Foundation
import SQLKit
import TrainplatCore

/// Every change of a task's state is one guarded `UPDATE … WHERE status IN (allowed sources)
/// RETURNING id`: of two schedulers racing for the same task, exactly one sees its row back.
struct TaskTransitions: Sendable {
    let database: any Database
    let metrics: SchedulerMetrics

    private var sql: any SQLDatabase { database.sql }

    /// Moves `taskID` to `next` if it is in one of `next`'s allowed source states (optionally
    /// narrowed to `from`). Returns whether this caller won the transition.
    @discardableResult
    func move(
        _ taskID: UUID, to next: TaskState, from: [TaskState]? = nil, reason: String? = nil,
        set extra: [String: any Encodable & Sendable] = [:]
    ) async throws -> Bool {
        try await guardedUpdate([taskID], to: next, from: from, reason: reason, returning: ["id"]) { update in
            extra.sorted(by: { $0.key < $1.key }).reduce(update) { update, field in update.set(field.key, to: field.value) }
        }.count == 1
    }

    /// Moves every task of `taskIDs` that is in an allowed source state, in one statement per
    /// `batchSize` tasks; answers those this caller moved. A tick readies a fan-out's
    /// thousand tasks in two statements instead of a thousand.
    func move(_ taskIDs: [UUID], to next: TaskState, from: [TaskState]? = nil, reason: String? = nil) async throws -> Set<UUID> {
        let rows = try await guardedUpdate(taskIDs, to: next, from: from, reason: reason, returning: ["id"]) { $0 }
        return Set(try rows.map { try $0.decode(column: "id", as: UUID.self) })
    }

    /// What a claim won: the attempt about to open, and the task's own facts the attempt needs.
    struct Claim: Decodable, Sendable {
        let taskID: UUID
        let attempt: Int
        let name: String
        let maxAttempts: Int
        let runID: UUID
        enum CodingKeys: String, CodingKey {
            case taskID = "id", attempt = "attempt_count", name, maxAttempts = "max_attempts", runID = "run_id"
        }
    }

    /// Claims tasks for this scheduler: ready -> running with a lease, counting the attempt
    /// about to open in the same update. A pending task whose trigger rule the scheduler has
    /// just found met is claimed straight from pending. Answers the tasks this caller won
    /// (another scheduler may have won the rest), with the number of the attempt each opens.
    func claim(_ taskIDs: [UUID], owner: String, leaseSeconds: Double) async throws -> [Claim] {
        let now = Date()
        let rows = try await guardedUpdate(
            taskIDs, to: .running, from: [.ready, .pending], returning: ["id", "attempt_count", "name", "max_attempts", "run_id"]
        ) { update in
            update.set("lease_owner", to: owner).set("lease_expires_at", to: now.addingTimeInterval(leaseSeconds)).set("started_at", to: now)
                .set(SQLIdentifier("attempt_count"), to: SQLBinaryExpression(SQLIdentifier("attempt_count"), .add, SQLLiteral.numeric("1")))
                .set("progress", to: 0.0).set("progress_message", to: Optional<String>.none)
        }
        return try rows.map { try $0.decode(model: Claim.self) }
    }

    /// Ids per statement: far below SQLite's and PostgreSQL's limits on bound values.
    static let batchSize = 500

    /// The one guarded `UPDATE` every task transition is: a row comes back only to the
    /// caller that moved it.
    private func guardedUpdate(
        _ taskIDs: [UUID], to next: TaskState, from: [TaskState]?, reason: String? = nil, returning columns: [String],
        setting fields: (SQLUpdateBuilder) -> SQLUpdateBuilder
    ) async throws -> [any SQLRow] {
        let sources = (from ?? next.allowedSources).filter { next.allowedSources.contains($0) }
        guard !sources.isEmpty else { return [] }
        var moved: [any SQLRow] = []
        for start in stride(from: 0, to: taskIDs.count, by: Self.batchSize) {
            var update = sql.update(TaskRun.schema)
                .set("status", to: next.rawValue)
                .where("id", .in, Array(taskIDs[start..<min(start + Self.batchSize, taskIDs.count)]))
                .where("status", .in, sources.map(\.rawValue))
            if let reason { update = update.set("reason", to: reason) }
            if next.isTerminal { update = update.set("finished_at", to: Date()) }
            moved += try await fields(update).returning(columns.map { SQLIdentifier($0) as any SQLExpression }).all()
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
