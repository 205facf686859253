import FluentKit
import Foundation
import Testing
@testable import TrainplatApp
import TrainplatCore

@Suite("Pipeline versions")
struct PipelineServiceTests {
    static let spec = "name: versions\ntasks:\n  a: {command: [echo, hi]}\n  b: {command: [echo, there], needs: [a]}\n"
    /// The same pipeline in JSON with another key order: the same canonical spec.
    static let sameAsJSON = #"{"tasks": {"b": {"needs": ["a"], "command": ["echo", "there"]}, "a": {"command": ["echo", "hi"]}}, "name": "versions"}"#

    @Test func test_register_identicalSpecInOtherForm_returnsTheSameVersion() async throws {
        try await TestApp.with { app in
            // setup
            let (user, project) = try await app.owner()
            let service = PipelineService(database: app.database)
            // act
            let first = try await service.register(specText: Self.spec, projectID: project, userID: user)
            let second = try await service.register(specText: Self.sameAsJSON, projectID: project, userID: user)
            let changed = try await service.register(specText: Self.spec.replacingOccurrences(of: "there", with: "world"), projectID: project, userID: user)
            // check
            #expect(first.created && !second.created && changed.created)
            #expect(second.version.id == first.version.id)
            #expect(changed.version.number == 2)
            #expect(try await PipelineVersion.query(on: app.database).count() == 2)
        }
    }

    @Test func test_register_invalidSpec_storesNothing() async throws {
        try await TestApp.with { app in
            // setup
            let (user, project) = try await app.owner()
            // act
            let error = await #expect(throws: SpecValidationError.self) {
                try await PipelineService(database: app.database).register(
                    specText: "name: broken\ntasks:\n  a: {command: [x], needs: [ghost]}\n", projectID: project, userID: user)
            }
            // check
            #expect(error?.issues.map(\.path) == ["tasks.a.needs[0]"])
            #expect(try await Pipeline.query(on: app.database).count() == 0)
        }
    }

    @Test func test_startRun_missingRequiredParam_namesIt() async throws {
        try await TestApp.with { app in
            // setup
            let (user, project) = try await app.owner()
            let spec = "name: params\nparams: {day: {type: datetime}}\ntasks:\n  a: {command: [echo, '{{ params.day }}']}\n"
            let version = try await PipelineService(database: app.database).register(specText: spec, projectID: project, userID: user).version
            // act
            let error = await #expect(throws: SpecValidationError.self) {
                try await RunService(database: app.database).start(versionID: try version.requireID(), params: [:], userID: user)
            }
            // check
            #expect(error?.issues.first?.path == "params.day")
            #expect(try await PipelineRun.query(on: app.database).count() == 0)
        }
    }
}
