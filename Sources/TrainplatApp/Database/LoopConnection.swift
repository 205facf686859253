import FluentSQLiteDriver
import Logging
import NIOPosix
import SQLKit

/// The scheduler loop's own connection to a SQLite file, for its task transitions.
///
/// Through Fluent's pool a statement hops from the caller to the pool's event loop, to
/// SQLite's thread, back to the event loop for each row and the connection's release, and
/// back to the caller. A connection of the loop's own goes to SQLite's thread and back: a
/// one-row `UPDATE … RETURNING` took 96-110 us against 221-225 us (medians of 3,000 on this
/// machine), and a chain's step is one such statement (see docs/scheduling.md).
///
/// A second connection is a second writer. SQLite runs one write at a time, and each
/// connection waits out the other's (busy timeout). A transaction that reads before it writes
/// could not wait: its snapshot would be stale once the other writer commits, so those begin
/// with the write lock (`Database.writeTransaction`). In memory (the tests' default) a second
/// connection would be a second database, so there the loop goes through the pool.
///
/// Its SQLite calls run on a thread of its own. On the shared blocking pool (as many threads
/// as cores) a statement waiting out the pool connection's transaction held a thread that
/// the transaction's next statement needed: with one core, or two servers' loops in one
/// process (the tests), both waited until the busy timeout.
struct LoopConnection: Sendable {
    let sql: any SQLDatabase
    let connection: SQLiteConnection
    private let thread: NIOThreadPool

    /// A tuned connection to the metadata database when it is a SQLite file; nil otherwise.
    static func open(_ database: AppConfig.DatabaseKind, logger: Logger) async throws -> LoopConnection? {
        guard case .sqliteFile(let path) = database else { return nil }
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        do {
            let connection = try await SQLiteConnection.open(storage: .file(path: path), threadPool: thread, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any())
            let opened = LoopConnection(sql: connection.sql(queryLogLevel: .trace), connection: connection, thread: thread)
            do {
                try await MetadataDatabase.tuneSQLiteConnection(opened.sql)
            } catch {
                await opened.close()
                throw error
            }
            return opened
        } catch {
            try? await thread.shutdownGracefully()
            throw error
        }
    }

    /// Closes even when the caller is cancelled (a scheduler stopping), which the async
    /// `close` would refuse before it starts, leaving the handle open.
    func close() async {
        try? await connection.close().get()
        try? await thread.shutdownGracefully()
    }
}
