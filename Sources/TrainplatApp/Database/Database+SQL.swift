import FluentKit
import SQLKit

extension Database {
    /// The SQL view of the metadata database, for the hot paths that read plain rows instead
    /// of Fluent models (whose reflection over every field dominated them in profiles).
    var sql: any SQLDatabase {
        // Both supported drivers (SQLite, PostgreSQL) are SQL databases.
        guard let sql = self as? any SQLDatabase else { preconditionFailure("metadata database must be SQL") }
        return sql
    }
}

extension Database {
    /// A transaction for work that reads before it writes. On SQLite it takes the write lock
    /// as it begins (`BEGIN IMMEDIATE`), waiting out another connection's write (the busy
    /// timeout). Fluent's transaction begins deferred: its first write would then upgrade a
    /// read snapshot, and SQLite fails that at once ("database is locked") when another
    /// connection (the scheduler loop's own, a CLI) committed since the snapshot was taken.
    /// Elsewhere it is Fluent's transaction.
    func writeTransaction<T: Sendable>(_ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        guard sql.dialect.name == "sqlite" else { return try await transaction(body) }
        // One connection throughout: SQLite's transaction belongs to the connection.
        return try await withConnection { database in
            try await database.sql.raw("BEGIN IMMEDIATE").run()
            do {
                let result = try await body(database)
                try await database.sql.raw("COMMIT").run()
                return result
            } catch {
                try? await database.sql.raw("ROLLBACK").run()
                throw error
            }
        }
    }
}
