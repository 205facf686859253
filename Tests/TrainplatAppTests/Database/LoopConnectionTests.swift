import FluentKit
import Foundation
import SQLKit
import Testing
@testable import TrainplatApp
import TrainplatCore

/// The scheduler loop's own connection to a SQLite file (`LoopConnection`) is a second
/// writer beside the pool's connection; these tests hold both to a real file.
@Suite("The scheduler loop's own SQLite connection")
struct LoopConnectionTests {
    @Test func test_writeTransaction_thatReadsFirst_waitsOutAnotherConnectionsWrite() async throws {
        // setup: a SQLite file, its pool, and the loop's connection beside it
        let scratch = try SQLiteFileScratch()
        defer { scratch.remove() }
        let metadata = scratch.metadata
        try await metadata.migrate()
        let loop = try #require(try await LoopConnection.open(scratch.config.database, logger: .init(label: "test")))
        try await metadata.database.sql.raw("CREATE TABLE probe (writer TEXT)").run()
        // act: the transaction reads, the loop writes meanwhile, then the transaction writes
        let result: Result<Task<Void, any Error>, any Error>
        do {
            result = .success(try await metadata.database.writeTransaction { database in
                _ = try await database.sql.raw("SELECT count(*) AS n FROM probe").all()
                let other = Task { try await loop.sql.raw("INSERT INTO probe VALUES ('loop')").run() }
                try await Task.sleep(for: .milliseconds(200))
                try await database.sql.raw("INSERT INTO probe VALUES ('transaction')").run()
                return other
            })
        } catch {
            result = .failure(error)
        }
        // check: the transaction's write stood, and the loop's came after it, waiting
        let loopWrite = await (try? result.get())?.result
        struct Row: Decodable { let writer: String }
        let rows = try await metadata.database.sql.raw("SELECT writer FROM probe ORDER BY rowid").all(decoding: Row.self)
        await loop.close()
        await metadata.shutdown()
        if case .failure(let error) = result { Issue.record("the transaction failed: \(error)") }
        if case .failure(let error) = loopWrite { Issue.record("the loop's write failed: \(error)") }
        #expect(rows.map(\.writer) == ["transaction", "loop"])
    }

    @Test func test_scheduler_onASQLiteFile_runsAChain_whileRunsAreStartedBesideIt() async throws {
        try await TestApp.with(configure: { $0.database = .sqliteFile($0.dataDirectory + "/trainplat.sqlite") }) { app in
            // setup: a 20-step chain, each step adding one to its upstream's output
            var lines = ["name: counting", "tasks:", #"  t0: {command: [sh, -c, "echo '{\"outputs\": {\"n\": 0}}' > outputs.json"]}"#]
            for step in 1..<20 {
                lines.append(
                    #"  t\#(step): {needs: [t\#(step - 1)], command: [sh, -c, "echo '{\"outputs\": {\"n\": '$(( {{ tasks.t\#(step - 1).outputs.n }} + 1 ))'}}' > outputs.json"]}"#)
            }
            let chain = try await app.start(spec: lines.joined(separator: "\n") + "\n")
            let database = app.database
            // act: the loop writes through its own connection while other runs are registered
            // and started through the pool (transactions that read before they write)
            let starts = Task {
                for index in 0..<10 {
                    _ = try await app.start(spec: #"name: beside-\#(index)\#ntasks:\#n  a: {command: [sh, -c, "echo '{}' > outputs.json"]}\#n"#)
                }
            }
            try await app.drive(until: {
                let runs = try await PipelineRun.query(on: database).all()
                return runs.count == 11 && runs.allSatisfy(\.status.isTerminal)
            }, timeout: .seconds(60))
            try await starts.value
            // check
            let runs = try await PipelineRun.query(on: database).all()
            let tasks = try await app.tasks(of: chain)
            #expect(runs.allSatisfy { $0.status == .succeeded })
            #expect(tasks["t19"]?.outputs?["n"] == .int(19))
            #expect(tasks.values.allSatisfy { $0.attemptCount == 1 })
        }
    }
}
