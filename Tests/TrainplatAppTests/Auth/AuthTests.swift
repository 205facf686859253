import FluentKit
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import TrainplatApp
import TrainplatCore

@Suite("Authentication")
struct AuthTests {
    private func json(_ buffer: ByteBuffer) throws -> [String: JSONValue] {
        try #require(try JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView)).objectValue)
    }

    private func login(_ client: some TestClientProtocol, _ username: String, _ password: String) async throws -> TestResponse {
        try await client.execute(
            uri: "/api/v1/auth/login", method: .post, headers: [.contentType: "application/json"],
            body: ByteBuffer(string: #"{"username": "\#(username)", "password": "\#(password)"}"#))
    }

    @Test func test_login_rightPassword_givesATokenThatWorks_wrongOneIs401AndAudited() async throws {
        try await TestApp.with { app in
            // setup
            let alice = try await app.user("alice")
            let project = try await app.project(members: [(alice, .maintainer)])
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act
                let good = try await login(client, "alice", "correct horse battery")
                let bad = try await login(client, "alice", "wrong horse battery")
                let token = try json(good.body)["access_token"]?.stringValue ?? ""
                let me = try await client.execute(uri: "/api/v1/auth/me", method: .get, headers: [.authorization: "Bearer \(token)"])
                // check
                #expect(good.status == .ok)
                #expect(bad.status == .unauthorized)
                #expect(try json(me.body)["user"]?.objectValue?["username"] == .string("alice"))
                let memberships = try json(me.body)["memberships"]?.arrayValue?.compactMap(\.objectValue)
                #expect(memberships?.map { $0["role"] } == [.string("maintainer")])
                #expect(memberships?.first?["project_id"] == .string(try project.requireID().uuidString))
            }
            let outcomes = try await AuditEvent.query(on: app.database).filter(\.$action == "auth.login").all().map(\.outcome)
            #expect(outcomes.sorted() == ["denied", "success"])
        }
    }

    @Test func test_login_repeatedFailures_areThrottledWithRetryAfter() async throws {
        try await TestApp.with { app in
            _ = try await app.user("bob")
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                for _ in 0..<5 { _ = try await login(client, "bob", "guess guess guess") }
                // act: even the right password waits now
                let response = try await login(client, "bob", "correct horse battery")
                // check
                #expect(response.status == .tooManyRequests)
                #expect(Int(response.headers[.retryAfter] ?? "") ?? 0 > 0)
            }
        }
    }

    @Test func test_bearer_forgedOrDisabled_is401() async throws {
        try await TestApp.with { app in
            let carol = try await app.user("carol")
            let headers = try app.headers(for: carol)
            carol.isDisabled = true
            try await carol.update(on: app.database)
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                let disabled = try await client.execute(uri: "/api/v1/auth/me", method: .get, headers: headers)
                let forged = try await client.execute(uri: "/api/v1/auth/me", method: .get, headers: [.authorization: "Bearer eyJhbGciOiJub25lIn0.e30."])
                let anonymous = try await client.execute(uri: "/api/v1/auth/me", method: .get)
                #expect(disabled.status == .unauthorized)
                #expect(forged.status == .unauthorized)
                #expect(anonymous.status == .unauthorized)
            }
        }
    }

    @Test func test_apiKey_isShownOnce_storedHashed_worksUntilRevoked() async throws {
        try await TestApp.with { app in
            // setup
            let dave = try await app.user("dave")
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act
                let created = try await client.execute(
                    uri: "/api/v1/api-keys", method: .post, headers: try app.headers(for: dave), body: ByteBuffer(string: #"{"name": "ci"}"#))
                let body = try json(created.body)
                let secret = try #require(body["secret"]?.stringValue)
                let keyID = try #require(body["id"]?.stringValue)
                let withKey: HTTPFields = [.authorization: "Bearer \(secret)"]
                let before = try await client.execute(uri: "/api/v1/auth/me", method: .get, headers: withKey)
                let listed = try await client.execute(uri: "/api/v1/api-keys", method: .get, headers: withKey)
                _ = try await client.execute(uri: "/api/v1/api-keys/\(keyID)", method: .delete, headers: try app.headers(for: dave))
                let after = try await client.execute(uri: "/api/v1/auth/me", method: .get, headers: withKey)
                // check
                #expect(created.status == .created)
                #expect(secret.hasPrefix("tp_"))
                #expect(before.status == .ok)
                #expect(!String(buffer: listed.body).contains(secret))
                #expect(after.status == .unauthorized)
            }
            let stored = try await APIKey.query(on: app.database).all().map(\.keyHash)
            #expect(stored.count == 1 && stored.first?.count == 64)
        }
    }

    @Test func test_users_onlyAdminsCreateThem_andWeakPasswordsAreRefused() async throws {
        try await TestApp.with { app in
            let admin = try app.headers(for: try await app.user(admin: true))
            let plain = try app.headers(for: try await app.user())
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                let body = ByteBuffer(string: #"{"username": "erin", "password": "long enough password"}"#)
                let forbidden = try await client.execute(uri: "/api/v1/users", method: .post, headers: plain, body: body)
                let created = try await client.execute(uri: "/api/v1/users", method: .post, headers: admin, body: body)
                let weak = try await client.execute(
                    uri: "/api/v1/users", method: .post, headers: admin, body: ByteBuffer(string: #"{"username": "frank", "password": "short"}"#))
                #expect(forbidden.status == .forbidden)
                #expect(created.status == .created)
                #expect(!String(buffer: created.body).contains("password"))
                #expect(weak.status == .badRequest)
                #expect(try json(weak.body)["detail"]?.stringValue?.contains("'password'") == true)
            }
        }
    }

    @Test func test_bootstrap_noAdminAndNoPassword_namesTheVariable() async throws {
        try await TestApp.with { app in
            let error = await #expect(throws: ConfigError.self) { try await app.app.prepare() }
            #expect(error?.variable == "TRAINPLAT_ADMIN_PASSWORD")
        }
        try await TestApp.with(configure: { $0.adminPassword = "a long admin password" }) { app in
            try await app.app.prepare()
            #expect(try await User.query(on: app.database).filter(\.$username == "admin").first()?.isAdmin == true)
        }
    }

    @Test func test_taskToken_handedToTheTask_readsItsOwnRunOnly() async throws {
        try await TestApp.with { app in
            // setup: the task reports the token it was given
            let run = try await app.run(spec: #"""
                name: token
                tasks:
                  t: {command: [sh, -c, "printf '{\"outputs\": {\"token\": \"%s\"}}' \"$TRAINPLAT_TOKEN\" > outputs.json"]}
                """#)
            let token = try #require(try await app.tasks(of: run)["t"]?.outputs?["token"]?.stringValue)
            let runID = try run.requireID().uuidString.lowercased()
            let headers: HTTPFields = [.authorization: "Bearer \(token)"]
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act
                let own = try await client.execute(uri: "/api/v1/runs/\(runID)", method: .get, headers: headers)
                let other = try await client.execute(uri: "/api/v1/runs/\(UUID())", method: .get, headers: headers)
                let me = try await client.execute(uri: "/api/v1/auth/me", method: .get, headers: headers)
                let keys = try await client.execute(uri: "/api/v1/api-keys", method: .get, headers: headers)
                // check
                #expect(own.status == .ok)
                #expect(other.status == .notFound)
                #expect(me.status == .notFound)
                #expect(keys.status == .notFound)
            }
        }
    }

    @Test func test_adminKeyLimitedToAProject_hasNoAdminRights() async throws {
        try await TestApp.with { app in
            let admin = try await app.user(admin: true)
            let project = try await app.project(members: [])
            let key = try await app.app.auth.createAPIKey(userID: try admin.requireID(), projectID: try project.requireID(), name: "ci", lifetimeDays: 1)
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                let response = try await client.execute(
                    uri: "/api/v1/users", method: .post, headers: [.authorization: "Bearer \(key.secret)"],
                    body: ByteBuffer(string: #"{"username": "mallory", "password": "long enough password"}"#))
                #expect(response.status == .forbidden)
                let unauthorized = try await client.execute(uri: "/api/v1/auth/me", method: .get, headers: [.authorization: "Bearer tp_nope"])
                #expect(unauthorized.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            }
        }
    }
}
