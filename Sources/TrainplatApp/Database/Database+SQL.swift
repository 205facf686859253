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
