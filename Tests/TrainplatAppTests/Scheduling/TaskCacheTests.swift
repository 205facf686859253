import FluentKit
import Foundation
import Testing
@testable import TrainplatApp
import TrainplatCore

@Suite("Task caching")
struct TaskCacheTests {
    @Test func test_cache_identicalInputsReuseOutputs_otherInputsOrUncachedTasksRun() async throws {
        try await TestApp.with { app in
            // setup: each execution appends a line to a counter file
            let counter = app.directory + "/executions"
            let spec = """
                name: cached
                params: {n: {type: int, default: 1}}
                tasks:
                  heavy:
                    cache: true
                    command: [sh, -c, "echo run >> \(counter); echo '{\\"outputs\\": {\\"n\\": {{ params.n }}}}' > outputs.json"]
                  light: {command: [sh, -c, "echo '{}' > outputs.json"]}
                """
            let owner = try await app.user()
            let project = try await app.project(members: [(owner, .owner)])
            let version = try await PipelineService(database: app.database)
                .register(specText: spec, projectID: try project.requireID(), userID: try owner.requireID()).version
            let database = app.database
            func run(_ n: Int) async throws -> PipelineRun {
                let run = try await RunService(database: database).start(
                    versionID: try version.requireID(), params: ["n": .int(n)], userID: try owner.requireID())
                try await app.drive(until: { try await PipelineRun.find(run.requireID(), on: database)?.status.isTerminal == true }, timeout: .seconds(30))
                return run
            }
            // act
            let first = try await run(1)
            let second = try await run(1)
            let third = try await run(2)
            // check
            let executions = try String(contentsOfFile: counter, encoding: .utf8).split(separator: "\n").count
            let firstHeavy = try #require(try await app.tasks(of: first)["heavy"])
            let secondTasks = try await app.tasks(of: second)
            #expect(executions == 2, "heavy ran for n=1 once and for n=2 once")
            #expect(secondTasks["heavy"]?.cachedFrom == firstHeavy.id)
            #expect(secondTasks["heavy"]?.outputs?["n"] == .int(1))
            #expect(try await app.attempts(of: try #require(secondTasks["heavy"])).first?.reason?.hasPrefix("cache hit") == true)
            #expect(secondTasks["light"]?.cachedFrom == nil)
            #expect(try await app.tasks(of: third)["heavy"]?.cachedFrom == nil)
        }
    }
}
