import FluentKit
import FluentSQLiteDriver
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
            if let sqlite {
                moved.formUnion(try await write(on: sqlite, successes: batch, claims: [], guards: [:], owner: owner, leaseSeconds: 0).succeeded)
                continue
            }
            // One batch per statement: the outputs' CASEs bind each task's own.
            let rows = try await guardedUpdate(
                batch.map(\.taskID), to: .succeeded, from: [.running], leaseOwner: owner, returning: "id",
                setting: Self.succeeding.map { "\(unsafeRaw: $0.column) = \($0.value.sql)" } + Self.reported(by: batch))
            moved.formUnion(try rows.map { try $0.decode(column: "id", as: UUID.self) })
        }
        return successes.map { moved.contains($0.taskID) }
    }

    /// Claims tasks for this scheduler: ready -> running with a lease, counting the attempt
    /// about to open in the same update. A pending task whose trigger rule the scheduler has
    /// just found met is claimed straight from pending. Answers the tasks this caller won
    /// (another scheduler may have won the rest), with the number of the attempt each opens.
    func claim(_ taskIDs: [UUID], owner: String, leaseSeconds: Double) async throws -> [Claim] {
        guard let sqlite else {
            let rows = try await guardedUpdate(
                taskIDs, to: .running, from: Self.claimSources, returning: Self.claimedColumns,
                setting: Self.claiming(owner: owner, leaseSeconds: leaseSeconds, at: Date()).map { "\(unsafeRaw: $0.column) = \($0.value.sql)" })
            return try rows.map { try $0.decode(model: Claim.self) }
        }
        var claimed: [Claim] = []
        for start in stride(from: 0, to: taskIDs.count, by: Self.batchSize) {
            let batch = Array(taskIDs[start..<min(start + Self.batchSize, taskIDs.count)])
            claimed += try await write(on: sqlite, successes: [], claims: batch, guards: [:], owner: owner, leaseSeconds: leaseSeconds).claimed
        }
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
        if let sqlite, successes.count + taskIDs.count <= Self.batchSize {
            return try await write(on: sqlite, successes: successes, claims: taskIDs, guards: guards, owner: owner, leaseSeconds: leaseSeconds)
        }
        let moved = try await succeed(successes, owner: owner)
        let succeeded = Set(zip(successes, moved).filter(\.1).map(\.0.taskID))
        let allowed = taskIDs.filter { (guards[$0] ?? []).allSatisfy(succeeded.contains) }
        return (succeeded, try await claim(allowed, owner: owner, leaseSeconds: leaseSeconds))
    }

    /// SQLite's one statement for successes, claims or both. Every SET expression reads the row
    /// as it was: a row that was running is a success being moved, any other a claim; a column
    /// that one of them does not set keeps its value.
    ///
    /// Written as text with positional binds and sent to SQLiteNIO as it is, its rows read by
    /// column: a chain's step is one such statement, and SQLKit's interpolation, serialization,
    /// Codable binds and rows cost about 140 us of it (a step's trace), more than SQLite's own
    /// work. States are literals, values bound the way SQLKit binds them on SQLite (UUIDs as
    /// their text, dates as seconds since 1970, JSON as text), so every other reader reads
    /// these rows as its own.
    private func write(
        on sqlite: any SQLiteDatabase, successes: [Success], claims taskIDs: [UUID], guards: [UUID: [UUID]], owner: String,
        leaseSeconds: Double
    ) async throws -> (succeeded: Set<UUID>, claimed: [Claim]) {
        guard !successes.isEmpty || !taskIDs.isEmpty else { return ([], []) }
        var statement = SQLiteText("UPDATE \(TaskRun.schema) SET ")
        let now = Date()
        Self.assign(
            Self.entering(.succeeded, at: now) + Self.succeeding,
            orElse: Self.entering(.running, at: now) + Self.claiming(owner: owner, leaseSeconds: leaseSeconds, at: now), to: &statement)
        if !successes.isEmpty { Self.assignReported(by: successes, to: &statement) }
        statement.append(" WHERE ")
        Self.select(successes: successes, claims: taskIDs, guards: guards, owner: owner, in: &statement)
        statement.append(" RETURNING status, \(Self.claimedColumns)")
        var succeeded: Set<UUID> = []
        var claimed: [Claim] = []
        for row in try await sqlite.query(statement.text, statement.binds) {
            if row.column("status")?.string == TaskState.succeeded.rawValue {
                succeeded.insert(try Self.uuid(row, "id"))
                metrics.recordTransition(to: .succeeded)
            } else {
                claimed.append(try Self.claim(row))
                metrics.recordTransition(to: .running)
            }
        }
        return (succeeded, claimed)
    }

    /// Each column a success or a claim sets: the success's value for a row that is running,
    /// the claim's for any other; a column that one of them does not set keeps its value.
    private static func assign(
        _ bySuccess: [(column: String, value: ColumnValue)], orElse byClaim: [(column: String, value: ColumnValue)], to statement: inout SQLiteText
    ) {
        let success = Dictionary(uniqueKeysWithValues: bySuccess.map { ($0.column, $0.value) })
        let claim = Dictionary(uniqueKeysWithValues: byClaim.map { ($0.column, $0.value) })
        for (index, column) in Set(success.keys).union(claim.keys).sorted().enumerated() {
            statement.append("\(index == 0 ? "" : ", ")\(column) = CASE status WHEN \(literal(.running)) THEN ")
            statement.append(success[column] ?? .sql(column))
            statement.append(" ELSE ")
            statement.append(claim[column] ?? .sql(column))
            statement.append(" END")
        }
    }

    /// The outputs and metrics of each success, by its task's id, as JSON text (how SQLite
    /// stores JSON); other rows keep theirs.
    private static func assignReported(by successes: [Success], to statement: inout SQLiteText) {
        for (column, value) in [("outputs", \Success.outputs), ("metrics", \Success.metrics)] {
            statement.append(", \(column) = CASE id")
            for success in successes {
                statement.append(" WHEN ")
                statement.bind(success.taskID)
                statement.append(" THEN ")
                statement.bind(.text(JSONValue.object(success[keyPath: value]).canonicalJSON()))
            }
            statement.append(" ELSE \(column) END")
        }
    }

    /// The rows to write: the successes' tasks running under `owner`'s lease, and the claimed
    /// tasks that are ready or pending, a guarded one only while each task its guard names is
    /// succeeded or running under `owner`'s lease. Tasks with the same guard share a
    /// condition. `IS`: a lease owner that is NULL is not ours (SQLite's null-safe equality).
    private static func select(
        successes: [Success], claims taskIDs: [UUID], guards: [UUID: [UUID]], owner: String, in statement: inout SQLiteText
    ) {
        var conditions = 0
        func nextCondition() {
            statement.append(conditions == 0 ? "(" : " OR (")
            conditions += 1
        }
        if !successes.isEmpty {
            nextCondition()
            statement.append("id IN (")
            statement.bind(successes.map(\.taskID))
            statement.append(") AND status = \(literal(.running)) AND lease_owner = ")
            statement.bind(.text(owner))
            statement.append(")")
        }
        for (guarded, ids) in Dictionary(grouping: taskIDs, by: { Set(guards[$0] ?? []) }) {
            nextCondition()
            statement.append("id IN (")
            statement.bind(ids)
            statement.append(") AND status IN (\(claimSources.map(literal).joined(separator: ", ")))")
            if !guarded.isEmpty {
                statement.append(" AND NOT EXISTS (SELECT 1 FROM \(TaskRun.schema) upstream WHERE upstream.id IN (")
                statement.bind(Array(guarded))
                statement.append(") AND upstream.status <> \(literal(.succeeded)) AND NOT (upstream.status = \(literal(.running)) AND upstream.lease_owner IS ")
                statement.bind(.text(owner))
                statement.append("))")
            }
            statement.append(")")
        }
    }

    private static func claim(_ row: SQLiteRow) throws -> Claim {
        func integer(_ column: String) throws -> Int {
            guard let value = row.column(column)?.integer else { throw UnreadableRow(column: column, row: row) }
            return value
        }
        guard let name = row.column("name")?.string else { throw UnreadableRow(column: "name", row: row) }
        return Claim(taskID: try uuid(row, "id"), attempt: try integer("attempt_count"), name: name, maxAttempts: try integer("max_attempts"), runID: try uuid(row, "run_id"))
    }

    private static func uuid(_ row: SQLiteRow, _ column: String) throws -> UUID {
        guard let text = row.column(column)?.string, let id = UUID(uuidString: text) else { throw UnreadableRow(column: column, row: row) }
        return id
    }

    /// A row of `task_runs` whose column is not what this schema stores: a programming error
    /// or a damaged database, said with the column.
    struct UnreadableRow: Error, CustomStringConvertible {
        let description: String
        init(column: String, row: SQLiteRow) {
            description = "task_runs row with an unreadable \(column): \(row)"
        }
    }

    /// The states a claim takes a task from.
    private static let claimSources: [TaskState] = [.ready, .pending]

    /// What a success sets besides its state, finish time, outputs and metrics.
    private static let succeeding: [(column: String, value: ColumnValue)] = [("progress", .sql("1.0"))]

    /// What a claim sets besides its state: the lease, the attempt it opens, fresh progress.
    private static func claiming(owner: String, leaseSeconds: Double, at now: Date) -> [(column: String, value: ColumnValue)] {
        [
            ("lease_owner", .text(owner)), ("lease_expires_at", .date(now.addingTimeInterval(leaseSeconds))), ("started_at", .date(now)),
            ("attempt_count", .sql("attempt_count + 1")), ("progress", .sql("0.0")), ("progress_message", .sql("NULL")),
        ]
    }

    /// The outputs and metrics of each success, by its task's id (SQLKit's statements); other
    /// rows of the statement keep theirs.
    private static func reported(by successes: [Success]) -> [SQLQueryString] {
        func byTask(_ column: String, _ value: KeyPath<Success, JSONObject>) -> SQLQueryString {
            let cases = successes.map { success -> SQLQueryString in "WHEN \(bind: success.taskID) THEN \(bind: success[keyPath: value])" }
            return "\(unsafeRaw: column) = CASE id \(cases.joined(separator: " ")) ELSE \(unsafeRaw: column) END"
        }
        return [byTask("outputs", \.outputs), byTask("metrics", \.metrics)]
    }
}

/// A SQLite statement's text with its positional binds, in order.
private struct SQLiteText {
    private(set) var text: String
    private(set) var binds: [SQLiteData] = []

    init(_ text: String) {
        self.text = text
        self.text.reserveCapacity(2048)
    }

    mutating func append(_ sql: String) {
        text += sql
    }

    mutating func append(_ value: TaskTransitions.ColumnValue) {
        switch value {
        case .sql(let sql): text += sql
        case .date(let date): bind(.float(date.timeIntervalSince1970))
        case .text(let string): bind(.text(string))
        }
    }

    mutating func bind(_ value: SQLiteData) {
        text += "?"
        binds.append(value)
    }

    /// An id as SQLKit binds a UUID on SQLite: its text.
    mutating func bind(_ id: UUID) {
        bind(.text(id.uuidString))
    }

    /// Ids for an `IN (…)` list.
    mutating func bind(_ ids: [UUID]) {
        for (index, id) in ids.enumerated() {
            if index > 0 { text += ", " }
            bind(id)
        }
    }
}
