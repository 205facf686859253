import FluentKit
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import TrainplatApp
import TrainplatCore

@Suite("HTTP API")
struct APITests {
    private func json(_ buffer: ByteBuffer) throws -> [String: JSONValue] {
        try #require(try JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView)).objectValue)
    }

    @Test func test_health_ready_andMetricsShowRequestsAndTaskStates() async throws {
        try await TestApp.with { app in
            _ = try await app.run(spec: "name: metered\ntasks:\n  t: {command: [sh, -c, \"echo '{}' > outputs.json\"]}\n")
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
                try await client.execute(uri: "/ready", method: .get) { response in
                    let body = try json(response.body)
                    #expect(response.status == .ok)
                    #expect(body["status"] == .string("ready"))
                }
                try await client.execute(uri: "/metrics", method: .get) { response in
                    let text = String(buffer: response.body)
                    #expect(response.status == .ok)
                    #expect(text.contains("hb_requests"))
                    #expect(text.contains("/ready"))
                    #expect(text.contains(#"trainplat_task_transitions_total{state="succeeded"}"#))
                }
            }
        }
    }

    @Test func test_runs_getRun_listsTasksWithStates() async throws {
        try await TestApp.with { app in
            // setup
            let outputs = #"{\"outputs\": {\"rows\": 3}, \"metrics\": {\"auc\": 0.5}}"#
            let run = try await app.run(spec: "name: api-run\ntasks:\n  hello: {command: [sh, -c, \"echo '\(outputs)' > outputs.json\"]}\n")
            let id = try run.requireID().uuidString.lowercased()
            let admin = try app.headers(for: try await app.user(admin: true))
            // act + check
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                try await client.execute(uri: "/api/v1/runs/\(id)", method: .get, headers: admin) { response in
                    #expect(response.status == .ok)
                    let body = try json(response.body)
                    #expect(body["status"] == .string("succeeded"))
                    let tasks = body["tasks"]?.arrayValue ?? []
                    #expect(tasks.first?.objectValue?["name"] == .string("hello"))
                    #expect(tasks.first?.objectValue?["status"] == .string("succeeded"))
                    #expect(tasks.first?.objectValue?["outputs"] == .object(["rows": .int(3)]))
                    #expect(tasks.first?.objectValue?["metrics"] == .object(["auc": .double(0.5)]))
                    #expect(tasks.first?.objectValue?["attempts"] == .int(1))
                    #expect(tasks.first?.objectValue?["progress"] == .int(1) || tasks.first?.objectValue?["progress"] == .double(1))
                }
                try await client.execute(uri: "/api/v1/runs/\(id)/tasks/hello/attempts", method: .get, headers: admin) { response in
                    #expect(response.status == .ok)
                }
            }
        }
    }

    @Test func test_aRunStartedOverHTTP_wakesTheScheduler_whichReadsTheActiveRunsAgain() async throws {
        try await TestApp.with { app in
            // setup: a scheduler that would tick, and read the active runs, only once a minute
            let user = try await app.user()
            let project = try await app.project(members: [(user, .member)]).requireID()
            let spec = #"name: woken\#ntasks:\#n  a: {command: [sh, -c, "echo '{}' > outputs.json"]}\#n"#
            let registered = try await PipelineService(database: app.database).register(specText: spec, projectID: project, userID: user.requireID())
            let pipelineID = try registered.pipeline.requireID().uuidString.lowercased()
            var scheduler = app.app.makeScheduler()
            (scheduler.tickInterval, scheduler.activeReadInterval) = (.seconds(60), .seconds(60))
            let loop = Task { [scheduler] in try await scheduler.run() }
            defer { loop.cancel() }
            try await Task.sleep(for: .seconds(1))  // its first tick has passed
            let headers = try app.headers(for: user)
            // act
            let runID = try await Application(router: app.app.buildRouter()).test(.router) { client in
                try await client.execute(uri: "/api/v1/pipelines/\(pipelineID)/runs", method: .post, headers: headers, body: ByteBuffer(string: "{}")) {
                    #expect($0.status == .created)
                    return try json($0.body)["id"]?.stringValue ?? ""
                }
            }
            // check: the run ends long before the scheduler's next tick
            let id = try #require(UUID(uuidString: runID))
            let database = app.database
            let deadline = ContinuousClock.now + .seconds(20)
            while try await PipelineRun.find(id, on: database)?.status != .succeeded, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(try await PipelineRun.find(id, on: database)?.status == .succeeded)
            loop.cancel()
            _ = await loop.result
        }
    }

    @Test func test_cancelAndRetry_overHTTP_are409WhenTheRunsStateDoesNotAllowThem() async throws {
        try await TestApp.with { app in
            // setup: a run that succeeded, and one no scheduler has started
            let done = try await app.run(spec: "name: done\ntasks:\n  hello: {command: [sh, -c, \"echo '{}' > outputs.json\"]}\n")
            let waiting = try await app.start(spec: "name: waiting\ntasks:\n  later: {command: [echo]}\n")
            let doneID = try done.requireID().uuidString.lowercased()
            let waitingID = try waiting.requireID().uuidString.lowercased()
            let admin = try app.headers(for: try await app.user(admin: true))
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act + check: a succeeded run is neither cancelled nor retried, and says why
                for action in ["cancel", "retry"] {
                    try await client.execute(uri: "/api/v1/runs/\(doneID)/\(action)", method: .post, headers: admin) { response in
                        let problem = try json(response.body)
                        #expect(response.status == .conflict, "\(action)")
                        #expect(problem["detail"]?.stringValue?.contains("is succeeded") == true, "\(action)")
                    }
                }
                // a queued run is cancelled once, then retried
                try await client.execute(uri: "/api/v1/runs/\(waitingID)/cancel", method: .post, headers: admin) { response in
                    let body = try json(response.body)
                    #expect(response.status == .ok)
                    #expect(body["status"] == .string("cancelled"))
                }
                try await client.execute(uri: "/api/v1/runs/\(waitingID)/cancel", method: .post, headers: admin) { #expect($0.status == .conflict) }
                try await client.execute(uri: "/api/v1/runs/\(waitingID)/retry", method: .post, headers: admin) { response in
                    let body = try json(response.body)
                    #expect(response.status == .ok)
                    #expect(body["status"] == .string("queued"))
                }
            }
        }
    }

    @Test(arguments: ["/api/v1/runs/\(UUID())", "/api/v1/runs/not-a-uuid", "/api/v1/model-versions/\(UUID())", "/api/v1/training-set-versions/abc"])
    func test_unknownResource_is404ProblemJSON(uri: String) async throws {
        try await TestApp.with { app in
            let admin = try app.headers(for: try await app.user(admin: true))
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                try await client.execute(uri: uri, method: .get, headers: admin) { response in
                    let body = try json(response.body)
                    #expect(response.status == .notFound)
                    #expect(response.headers[.contentType] == "application/problem+json")
                    #expect(body["status"] == .int(404))
                }
            }
        }
    }

    @Test func test_validate_invalidSpec_is422WithEveryIssue() async throws {
        try await TestApp.with { app in
            let spec = "name: bad\ntasks:\n  a: {needs: [b], command: [x]}\n  b: {needs: [a], command: [x], colour: blue}\n"
            let user = try app.headers(for: try await app.user())
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                try await client.execute(uri: "/api/v1/pipelines/validate", method: .post, headers: user, body: ByteBuffer(string: spec)) { response in
                    #expect(response.status == .unprocessableContent)
                    let issues = try json(response.body)["issues"]?.arrayValue ?? []
                    let paths = issues.compactMap { $0.objectValue?["path"]?.stringValue }
                    #expect(paths.contains("tasks.b.colour"))
                    #expect(paths.contains { $0.hasSuffix(".needs") })
                }
            }
        }
    }

    @Test func test_diff_betweenVersions_listsFieldChanges_badVersionsAre400Or404() async throws {
        try await TestApp.with { app in
            // setup: two versions of one pipeline
            let member = try await app.user()
            let project = try await app.project(members: [(member, .member)])
            let service = PipelineService(database: app.database)
            let first = try await service.register(
                specText: "name: p\ntasks:\n  a: {command: [echo, one]}\n", projectID: try project.requireID(), userID: try member.requireID())
            _ = try await service.register(
                specText: "name: p\ntasks:\n  a: {command: [echo, two]}\n  b: {command: [echo]}\n", projectID: try project.requireID(),
                userID: try member.requireID())
            let base = "/api/v1/pipelines/\(try first.pipeline.requireID())/diff"
            let headers = try app.headers(for: member)
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act
                let diff = try await client.execute(uri: base, method: .get, headers: headers)
                let missing = try await client.execute(uri: base + "?from=9", method: .get, headers: headers)
                let bad = try await client.execute(uri: base + "?to=latest", method: .get, headers: headers)
                // check
                let body = try json(diff.body)
                #expect(body["from"] == .int(1) && body["to"] == .int(2))
                let changes = body["changes"]?.arrayValue?.compactMap(\.objectValue) ?? []
                #expect(changes.map { $0["path"]?.stringValue } == ["tasks.a.command", "tasks.b"])
                #expect(changes.map { $0["kind"]?.stringValue } == ["changed", "added"])
                #expect(missing.status == .notFound)
                #expect(bad.status == .badRequest && String(buffer: bad.body).contains("'to'"))
            }
        }
    }

    @Test func test_unknownIds_areAnonymous401_adminWrites404_notForeignKey500s() async throws {
        try await TestApp.with { app in
            // setup
            let admin = try app.headers(for: try await app.user(admin: true))
            let member = try await app.user()
            let project = try await app.project(members: [(member, .owner)])
            let stranger = UUID()
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act / check: who before what
                for uri in ["/api/v1/runs/\(stranger)", "/api/v1/runs/\(stranger)/tasks/t/log", "/api/v1/model-versions/\(stranger)"] {
                    #expect(try await client.execute(uri: uri, method: .get).status == .unauthorized, "\(uri)")
                }
                let spec = ByteBuffer(string: "name: p\ntasks:\n  a: {command: [echo]}\n")
                let pipeline = try await client.execute(uri: "/api/v1/projects/\(stranger)/pipelines", method: .post, headers: admin, body: spec)
                #expect(pipeline.status == .notFound)
                let key = try await client.execute(
                    uri: "/api/v1/api-keys", method: .post, headers: admin, body: ByteBuffer(string: #"{"name": "k", "project_id": "\#(stranger)"}"#))
                #expect(key.status == .notFound)
                let quota = try await client.execute(
                    uri: "/api/v1/projects/\(try project.requireID())/storage/quota", method: .put, headers: admin,
                    body: ByteBuffer(string: #"{"user_id": "\#(stranger)", "max_bytes": 5}"#))
                #expect(quota.status == .badRequest && String(buffer: quota.body).contains("not a member"))
            }
        }
    }

    @Test func test_docsPage_hasItsOwnPolicy_theAPIKeepsTheStrictOne() async throws {
        try await TestApp.with { app in
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                let docs = try await client.execute(uri: "/docs", method: .get)
                let spec = try await client.execute(uri: "/openapi.json", method: .get)
                #expect(docs.status == .ok)
                #expect(docs.headers[.contentSecurityPolicy]?.contains("script-src 'unsafe-inline'") == true)
                #expect(docs.headers[.contentSecurityPolicy]?.contains("connect-src 'self'") == true)
                #expect(spec.headers[.contentSecurityPolicy] == "default-src 'none'; frame-ancestors 'none'")
                #expect(try json(spec.body)["openapi"]?.stringValue == "3.1.0")
            }
        }
    }
}
