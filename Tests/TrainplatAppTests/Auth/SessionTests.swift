import FluentKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import TrainplatApp
import TrainplatCore

@Suite("Sessions: refresh rotation, reuse detection, logout, password change, disable, pagination")
struct SessionTests {
    private func json(_ response: TestResponse) throws -> [String: JSONValue] {
        try #require(try JSONDecoder().decode(JSONValue.self, from: Data(response.body.readableBytesView)).objectValue)
    }

    private func post(_ client: some TestClientProtocol, _ uri: String, _ body: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    /// Logs in and returns (access token, refresh token).
    private func login(_ client: some TestClientProtocol, _ user: String, _ password: String = "correct horse battery") async throws -> (String, String) {
        let response = try await post(client, "/api/v1/auth/login", #"{"username": "\#(user)", "password": "\#(password)"}"#)
        #expect(response.status == .ok)
        let body = try json(response)
        return (body["access_token"]?.stringValue ?? "", body["refresh_token"]?.stringValue ?? "")
    }

    private func me(_ client: some TestClientProtocol, _ token: String) async throws -> HTTPResponse.Status {
        try await client.execute(uri: "/api/v1/auth/me", method: .get, headers: [.authorization: "Bearer \(token)"]).status
    }

    @Test func test_refresh_rotates_andAReusedTokenRevokesTheWholeLogin() async throws {
        try await TestApp.with { app in
            _ = try await app.user("dana")
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // setup
                let (_, first) = try await login(client, "dana")
                // act: one rotation, then the spent token again
                let rotated = try await post(client, "/api/v1/auth/refresh", #"{"refresh_token": "\#(first)"}"#)
                let second = try json(rotated)["refresh_token"]?.stringValue ?? ""
                let newAccess = try json(rotated)["access_token"]?.stringValue ?? ""
                let reused = try await post(client, "/api/v1/auth/refresh", #"{"refresh_token": "\#(first)"}"#)
                let afterReuse = try await post(client, "/api/v1/auth/refresh", #"{"refresh_token": "\#(second)"}"#)
                // check
                #expect(rotated.status == .ok)
                #expect(second.hasPrefix("tpr_") && second != first)
                #expect(try await me(client, newAccess) == .ok)
                #expect(reused.status == .unauthorized)
                #expect(String(buffer: reused.body).contains("already used"))
                #expect(afterReuse.status == .unauthorized, "the family is revoked once reuse is seen")
            }
            let outcomes = try await AuditEvent.query(on: app.database).filter(\.$action == "auth.refresh").all().map(\.outcome)
            // the spent token, then the revoked successor: both are revoked tokens presented again
            #expect(outcomes.sorted() == ["reuse_detected", "reuse_detected", "success"])
        }
    }

    @Test func test_logout_revokesTheRefreshToken_otherLoginsStay() async throws {
        try await TestApp.with { app in
            _ = try await app.user("eli")
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // setup: two logins (two devices)
                let (_, laptop) = try await login(client, "eli")
                let (_, phone) = try await login(client, "eli")
                // act
                let logout = try await post(client, "/api/v1/auth/logout", #"{"refresh_token": "\#(laptop)"}"#)
                // check
                #expect(logout.status == .noContent)
                #expect(try await post(client, "/api/v1/auth/refresh", #"{"refresh_token": "\#(laptop)"}"#).status == .unauthorized)
                #expect(try await post(client, "/api/v1/auth/refresh", #"{"refresh_token": "\#(phone)"}"#).status == .ok)
                #expect(try await post(client, "/api/v1/auth/refresh", #"{"refresh_token": "tpr_not-a-token"}"#).status == .unauthorized)
            }
        }
    }

    @Test func test_passwordChange_checksTheOldOne_andEndsEveryOtherSession() async throws {
        try await TestApp.with { app in
            _ = try await app.user("fay")
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // setup
                let (access, refresh) = try await login(client, "fay")
                let auth: HTTPFields = [.authorization: "Bearer \(access)"]
                // act
                let wrong = try await post(client, "/api/v1/auth/password", #"{"current_password": "nope nope nope", "new_password": "a much better passphrase"}"#, headers: auth)
                let short = try await post(client, "/api/v1/auth/password", #"{"current_password": "correct horse battery", "new_password": "short"}"#, headers: auth)
                // tokens carry whole seconds: the change must come in a later second than the login
                try await Task.sleep(for: .milliseconds(1100))
                let changed = try await post(client, "/api/v1/auth/password", #"{"current_password": "correct horse battery", "new_password": "a much better passphrase"}"#, headers: auth)
                // check
                #expect(wrong.status == .forbidden)
                #expect(String(buffer: short.body).contains("new_password"))
                #expect(short.status == .badRequest)
                #expect(changed.status == .noContent)
                #expect(try await me(client, access) == .unauthorized, "the old access token ends")
                #expect(try await post(client, "/api/v1/auth/refresh", #"{"refresh_token": "\#(refresh)"}"#).status == .unauthorized)
                let old = try await post(client, "/api/v1/auth/login", #"{"username": "fay", "password": "correct horse battery"}"#)
                #expect(old.status == .unauthorized)
                _ = try await login(client, "fay", "a much better passphrase")
            }
        }
    }

    @Test func test_disable_stopsTokensKeysAndLogin_enableRestoresLogin() async throws {
        try await TestApp.with { app in
            // setup
            let admin = try await app.user("root", admin: true)
            let gus = try await app.user("gus")
            let key = try await app.app.auth.createAPIKey(userID: try gus.requireID(), projectID: nil, name: "ci", lifetimeDays: 1)
            let adminHeaders = try app.headers(for: admin)
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                let (access, refresh) = try await login(client, "gus")
                try await Task.sleep(for: .milliseconds(1100))
                // act
                let disabled = try await post(client, "/api/v1/users/\(try gus.requireID())/disable", "", headers: adminHeaders)
                // check
                #expect(disabled.status == .ok)
                #expect(try json(disabled)["is_disabled"] == .bool(true))
                #expect(try await me(client, access) == .unauthorized)
                #expect(try await me(client, key.secret) == .unauthorized)
                #expect(try await post(client, "/api/v1/auth/refresh", #"{"refresh_token": "\#(refresh)"}"#).status == .unauthorized)
                let refused = try await post(client, "/api/v1/auth/login", #"{"username": "gus", "password": "correct horse battery"}"#)
                #expect(refused.status == .unauthorized)
                let selfDisable = try await post(client, "/api/v1/users/\(try admin.requireID())/disable", "", headers: adminHeaders)
                #expect(selfDisable.status == .conflict)
                // act: enable
                #expect(try await post(client, "/api/v1/users/\(try gus.requireID())/enable", "", headers: adminHeaders).status == .ok)
                _ = try await login(client, "gus")
            }
        }
    }

    @Test func test_pagination_limitAndOffset_areHonouredAndValidated() async throws {
        try await TestApp.with { app in
            // setup: the admin and four more users, listed by name
            let admin = try await app.user("a-admin", admin: true)
            for name in ["b", "c", "d", "e"] { _ = try await app.user("\(name)-user") }
            let headers = try app.headers(for: admin)
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act
                let page = try await client.execute(uri: "/api/v1/users?limit=2&offset=1", method: .get, headers: headers)
                let tooBig = try await client.execute(uri: "/api/v1/users?limit=501", method: .get, headers: headers)
                let negative = try await client.execute(uri: "/api/v1/runs?offset=-1", method: .get, headers: headers)
                // check
                let body = try json(page)
                #expect(body["items"]?.arrayValue?.compactMap { $0.objectValue?["username"]?.stringValue } == ["b-user", "c-user"])
                #expect(body["total"] == .int(5))
                #expect(body["limit"] == .int(2) && body["offset"] == .int(1))
                #expect(tooBig.status == .badRequest && String(buffer: tooBig.body).contains("'limit'"))
                #expect(negative.status == .badRequest && String(buffer: negative.body).contains("'offset'"))
            }
        }
    }
}
