import FluentKit
import Foundation
import Hummingbird
import HummingbirdTesting
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

    @Test func test_listPipelines_showsEachOfTheCallersProjectsNewestVersion_andNoOtherProjects() async throws {
        try await TestApp.with { app in
            // setup: two versions of one pipeline in the member's project, one pipeline elsewhere
            let member = try await app.user()
            let project = try await app.project(members: [(member, .member)]).requireID()
            let elsewhere = try await app.owner()
            let service = PipelineService(database: app.database)
            _ = try await service.register(specText: Self.spec, projectID: project, userID: try member.requireID())
            let newest = try await service.register(
                specText: Self.spec.replacingOccurrences(of: "there", with: "world"), projectID: project, userID: try member.requireID())
            _ = try await service.register(specText: "name: hidden\ntasks:\n  a: {command: [echo]}\n", projectID: elsewhere.1, userID: elsewhere.0)
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act
                try await client.execute(uri: "/api/v1/pipelines", method: .get, headers: try app.headers(for: member)) { response in
                    // check
                    #expect(response.status == .ok)
                    let page = try JSONDecoder().decode([String: JSONValue].self, from: Data(buffer: response.body))
                    let items = page["items"]?.arrayValue?.compactMap(\.objectValue) ?? []
                    #expect(items.map { $0["name"]?.stringValue } == ["versions"])
                    #expect(items.first?["latest_version"]?.stringValue == String(newest.version.number))
                    #expect(items.first?["project_id"]?.stringValue?.lowercased() == project.uuidString.lowercased())
                    #expect(page["total"]?.intValue == 1)
                }
            }
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
