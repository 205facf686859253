import FluentKit
import Foundation
import SQLKit
import TrainplatCore

/// Claims, and moves of succeeded tasks, alone or together in one statement.
extension TaskTransitions {
    /// A task whose attempt succeeded, with what it reported.
    struct Success: Sendable {
        let taskID: UUID
        let outputs: JSONObject
        let metrics: JSONObject
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

    private static let claimedColumns = "id, attempt_count, name, max_attempts, run_id"

    /// Moves tasks running under `owner`'s lease to succeeded with their outputs and metrics,
    /// one statement per `batchSize`; answers, per task, whether this caller moved it. Outputs
    /// and state change together: a downstream task is readied only after the state change,
    /// and by then the outputs it renders its templates from are stored. A task whose lease
    /// another scheduler took over (it recovered the task and runs it again) is not moved by
    /// this late success.
    func succeed(_ successes: [Success], owner: String) async throws -> [Bool] {
        var moved: Set<UUID> = []
        for start in stride(from: 0, to: successes.count, by: Self.batchSize) {
            let batch = Array(successes[start..<min(start + Self.batchSize, successes.count)])
            let assignments = Self.succeeding(at: Date()).map { "\(unsafeRaw: $0.column) = \($0.value)" } + Self.reported(by: batch, asText: false)
            let rows = try await sql.raw("""
                UPDATE \(unsafeRaw: TaskRun.schema) SET \(assignments.joined(separator: ", "))
                WHERE id IN (\(binds: batch.map(\.taskID))) AND status = \(unsafeRaw: Self.literal(.running)) AND lease_owner = \(bind: owner)
                RETURNING id
                """).all()
            moved.formUnion(try rows.map { try $0.decode(column: "id", as: UUID.self) })
        }
        for _ in moved { metrics.recordTransition(to: .succeeded) }
        return successes.map { moved.contains($0.taskID) }
    }

    /// Claims tasks for this scheduler: ready -> running with a lease, counting the attempt
    /// about to open in the same update. A pending task whose trigger rule the scheduler has
    /// just found met is claimed straight from pending. Answers the tasks this caller won
    /// (another scheduler may have won the rest), with the number of the attempt each opens.
    func claim(_ taskIDs: [UUID], owner: String, leaseSeconds: Double) async throws -> [Claim] {
        var claimed: [Claim] = []
        for start in stride(from: 0, to: taskIDs.count, by: Self.batchSize) {
            let batch = Array(taskIDs[start..<min(start + Self.batchSize, taskIDs.count)])
            let rows = try await sql.raw("""
                UPDATE \(unsafeRaw: TaskRun.schema)
                SET \(Self.claiming(owner: owner, leaseSeconds: leaseSeconds, at: Date()).map { "\(unsafeRaw: $0.column) = \($0.value)" }.joined(separator: ", "))
                WHERE \(Self.claimable(batch, guards: [:], owner: owner))
                RETURNING \(unsafeRaw: Self.claimedColumns)
                """).all()
            claimed += try rows.map { try $0.decode(model: Claim.self) }
        }
        for _ in claimed { metrics.recordTransition(to: .running) }
        return claimed
    }

    /// Moves `successes` and claims `taskIDs` (see `succeed` and `claim`). `guards` names, for
    /// a task readied on successes of this call, the tasks of those successes: it is claimed
    /// only if each of them moves. A success whose move lost readies nothing.
    ///
    /// On SQLite in one statement: a chain's step is then one statement instead of two, the
    /// task's move and, after it, the next task's claim. SQLite runs a statement alone (one
    /// writer), and a guard accepts a success's task either running under this scheduler's
    /// lease or succeeded, its states before and after this statement, so the order in which
    /// SQLite looks at the rows does not matter. On PostgreSQL a guard would read the
    /// statement's snapshot: a task another scheduler recovers between that snapshot and this
    /// statement's update of it would still pass. There the moves are one statement, and the
    /// claims whose guarded tasks all moved the next.
    func succeedAndClaim(
        _ successes: [Success], claims taskIDs: [UUID], guards: [UUID: [UUID]], owner: String, leaseSeconds: Double
    ) async throws -> (succeeded: Set<UUID>, claimed: [Claim]) {
        let together = sql.dialect.name == "sqlite" && !successes.isEmpty && !taskIDs.isEmpty
            && successes.count + taskIDs.count <= Self.batchSize
        guard together else {
            let moved = try await succeed(successes, owner: owner)
            let succeeded = Set(zip(successes, moved).filter(\.1).map(\.0.taskID))
            let allowed = taskIDs.filter { (guards[$0] ?? []).allSatisfy(succeeded.contains) }
            return (succeeded, try await claim(allowed, owner: owner, leaseSeconds: leaseSeconds))
        }
        // Every SET expression reads the row as it was: a row that was running is a success
        // being moved, any other a claim; a column that one of them does not set keeps its
        // value. States are written as literals, and the JSON as SQLite stores it (text): the
        // statement is prepared anew each time, and its binds and length were most of its cost.
        let now = Date()
        let bySuccess = Dictionary(uniqueKeysWithValues: Self.succeeding(at: now).map { ($0.column, $0.value) })
        let byClaim = Dictionary(uniqueKeysWithValues: Self.claiming(owner: owner, leaseSeconds: leaseSeconds, at: now).map { ($0.column, $0.value) })
        let assignments = Set(bySuccess.keys).union(byClaim.keys).sorted().map { column -> SQLQueryString in
            let unchanged: SQLQueryString = "\(unsafeRaw: column)"
            return """
                \(unsafeRaw: column) = CASE status WHEN \(unsafeRaw: Self.literal(.running)) THEN \(bySuccess[column] ?? unchanged) \
                ELSE \(byClaim[column] ?? unchanged) END
                """
        } + Self.reported(by: successes, asText: true)
        let running = Self.literal(.running)
        let rows = try await sql.raw("""
            UPDATE \(unsafeRaw: TaskRun.schema) SET \(assignments.joined(separator: ", "))
            WHERE (id IN (\(binds: successes.map(\.taskID))) AND status = \(unsafeRaw: running) AND lease_owner = \(bind: owner))
            OR \(Self.claimable(taskIDs, guards: guards, owner: owner))
            RETURNING status, \(unsafeRaw: Self.claimedColumns)
            """).all()
        var succeeded: Set<UUID> = []
        var claimed: [Claim] = []
        for row in rows {
            if try row.decode(column: "status", as: String.self) == TaskState.succeeded.rawValue {
                succeeded.insert(try row.decode(column: "id", as: UUID.self))
                metrics.recordTransition(to: .succeeded)
            } else {
                claimed.append(try row.decode(model: Claim.self))
                metrics.recordTransition(to: .running)
            }
        }
        return (succeeded, claimed)
    }

    /// A state as an SQL string literal: the raw values are fixed lower-case words, never input.
    private static func literal(_ state: TaskState) -> String {
        "'\(state.rawValue)'"
    }

    /// What a success sets besides its outputs and metrics, column by column.
    private static func succeeding(at now: Date) -> [(column: String, value: SQLQueryString)] {
        [("status", "\(unsafeRaw: literal(.succeeded))"), ("finished_at", "\(bind: now)"), ("progress", "1.0")]
    }

    /// What a claim sets, column by column: the lease, the attempt it opens, fresh progress.
    private static func claiming(owner: String, leaseSeconds: Double, at now: Date) -> [(column: String, value: SQLQueryString)] {
        [
            ("status", "\(unsafeRaw: literal(.running))"), ("lease_owner", "\(bind: owner)"),
            ("lease_expires_at", "\(bind: now.addingTimeInterval(leaseSeconds))"), ("started_at", "\(bind: now)"),
            ("attempt_count", "attempt_count + 1"), ("progress", "0.0"), ("progress_message", "NULL"),
        ]
    }

    /// The outputs and metrics of each success, by its task's id; other rows of the statement
    /// keep theirs. Bound as the columns' type (JSON), which any database takes, or `asText`,
    /// as SQLite stores JSON, which is cheaper to bind.
    private static func reported(by successes: [Success], asText: Bool) -> [SQLQueryString] {
        func byTask(_ column: String, _ value: KeyPath<Success, JSONObject>) -> SQLQueryString {
            let cases = successes.map { success -> SQLQueryString in
                let reported = success[keyPath: value]
                return asText
                    ? "WHEN \(bind: success.taskID) THEN \(bind: JSONValue.object(reported).canonicalJSON())"
                    : "WHEN \(bind: success.taskID) THEN \(bind: reported)"
            }
            return "\(unsafeRaw: column) = CASE id \(cases.joined(separator: " ")) ELSE \(unsafeRaw: column) END"
        }
        return [byTask("outputs", \.outputs), byTask("metrics", \.metrics)]
    }

    /// Which of `taskIDs` may be claimed: ready or pending, and for a guarded one (SQLite's
    /// single statement only), each task its guard names succeeded or running under
    /// `owner`'s lease, as its success's move requires. Tasks with the same guard share a
    /// condition.
    private static func claimable(_ taskIDs: [UUID], guards: [UUID: [UUID]], owner: String) -> SQLQueryString {
        let sources = [literal(.ready), literal(.pending)].joined(separator: ", ")
        let byGuard = Dictionary(grouping: taskIDs) { Set(guards[$0] ?? []) }
        let conditions = byGuard.map { guarded, ids -> SQLQueryString in
            let condition: SQLQueryString = "id IN (\(binds: ids)) AND status IN (\(unsafeRaw: sources))"
            guard !guarded.isEmpty else { return "(\(condition))" }
            // `IS`: a lease owner that is NULL is not ours (SQLite's null-safe equality).
            return """
                (\(condition) AND NOT EXISTS (SELECT 1 FROM \(unsafeRaw: TaskRun.schema) upstream
                WHERE upstream.id IN (\(binds: Array(guarded))) AND upstream.status <> \(unsafeRaw: literal(.succeeded))
                AND NOT (upstream.status = \(unsafeRaw: literal(.running)) AND upstream.lease_owner IS \(bind: owner))))
                """
        }
        return "(\(conditions.joined(separator: " OR ")))"
    }
}
