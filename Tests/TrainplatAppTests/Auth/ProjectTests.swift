import FluentKit
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import TrainplatApp
import TrainplatCore

@Suite("Projects and members")
struct ProjectTests {
    private func send(
        _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, as headers: HTTPFields, body: String? = nil
    ) async throws -> TestResponse {
        var fields = headers
        fields[.contentType] = "application/json"
        return try await client.execute(uri: uri, method: method, headers: fields, body: body.map { ByteBuffer(string: $0) })
    }

    private func detail(_ response: TestResponse) -> String {
        (try? JSONDecoder().decode(JSONValue.self, from: Data(response.body.readableBytesView)).objectValue?["detail"]?.stringValue) ?? ""
    }

    @Test func test_members_ownerAddsListsAndRemoves_lastOwnerCannotLeaveOrBeDemoted() async throws {
        try await TestApp.with { app in
            // setup
            let owner = try await app.user("owner")
            _ = try await app.user("bob")
            let project = try await app.project(members: [(owner, .owner)])
            let base = "/api/v1/projects/\(try project.requireID())/members"
            let asOwner = try app.headers(for: owner)
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act
                let added = try await send(client, .post, base, as: asOwner, body: #"{"username": "bob", "role": "member"}"#)
                let listed = try await send(client, .get, base, as: asOwner)
                let demoteSelf = try await send(client, .post, base, as: asOwner, body: #"{"username": "owner", "role": "viewer"}"#)
                let leave = try await send(client, .delete, "\(base)/owner", as: asOwner)
                let removed = try await send(client, .delete, "\(base)/bob", as: asOwner)
                let again = try await send(client, .delete, "\(base)/bob", as: asOwner)
                // check
                #expect(added.status == .created)
                let names = try JSONDecoder().decode(JSONValue.self, from: Data(listed.body.readableBytesView))
                    .objectValue?["items"]?.arrayValue?.compactMap { $0.objectValue?["username"]?.stringValue }
                #expect(names == ["owner", "bob"])
                #expect(demoteSelf.status == .conflict && detail(demoteSelf).contains("last owner"))
                #expect(leave.status == .conflict)
                #expect(removed.status == .noContent)
                #expect(again.status == .notFound)
            }
            let roles = try await Membership.query(on: app.database).filter(\.$project.$id == project.requireID()).all().map(\.role)
            #expect(roles == [.owner])
            let actions = try await AuditEvent.query(on: app.database).filter(\.$action ~~ ["membership.set", "membership.remove"]).count()
            #expect(actions == 2)
        }
    }

    @Test func test_removedMember_losesAccessAtOnce_evenWithAProjectKey() async throws {
        try await TestApp.with { app in
            // setup
            let owner = try await app.user("owner")
            let bob = try await app.user("bob")
            let project = try await app.project(members: [(owner, .owner), (bob, .member)])
            let projectID = try project.requireID()
            let key = try await app.app.auth.createAPIKey(userID: try bob.requireID(), projectID: projectID, name: "ci", lifetimeDays: 1)
            let asKey: HTTPFields = [.authorization: "Bearer \(key.secret)"]
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                let before = try await send(client, .get, "/api/v1/projects/\(projectID)", as: asKey)
                // act
                _ = try await send(client, .delete, "/api/v1/projects/\(projectID)/members/bob", as: try app.headers(for: owner))
                let after = try await send(client, .get, "/api/v1/projects/\(projectID)", as: asKey)
                // check
                #expect(before.status == .ok)
                #expect(after.status == .notFound)
            }
        }
    }

    @Test func test_rename_ownerOnly_nameValidatedAndUnique() async throws {
        try await TestApp.with { app in
            // setup
            let owner = try await app.user("owner")
            let member = try await app.user("member")
            let project = try await app.project("alpha", members: [(owner, .owner), (member, .member)])
            _ = try await app.project("beta", members: [])
            let uri = "/api/v1/projects/\(try project.requireID())"
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act
                let byMember = try await send(client, .patch, uri, as: try app.headers(for: member), body: #"{"name": "gamma"}"#)
                let taken = try await send(client, .patch, uri, as: try app.headers(for: owner), body: #"{"name": "beta"}"#)
                let invalid = try await send(client, .patch, uri, as: try app.headers(for: owner), body: #"{"name": "../etc"}"#)
                let renamed = try await send(client, .patch, uri, as: try app.headers(for: owner), body: #"{"name": "gamma"}"#)
                let again = try await send(client, .patch, uri, as: try app.headers(for: owner), body: #"{"name": "gamma"}"#)
                // check
                #expect(again.status == .ok, "its own name is not taken")
                #expect(byMember.status == .forbidden)
                #expect(taken.status == .conflict)
                #expect(invalid.status == .badRequest && detail(invalid).contains("'name'"))
                #expect(renamed.status == .ok)
            }
            #expect(try await Project.find(project.requireID(), on: app.database)?.name == "gamma")
        }
    }

    @Test func test_delete_adminOnly_refusedWhileTheProjectHoldsData_thenRemovesAccessAndSettings() async throws {
        try await TestApp.with { app in
            // setup
            let admin = try await app.user("root", admin: true)
            let owner = try await app.user("owner")
            let project = try await app.project(members: [(owner, .owner)])
            let projectID = try project.requireID()
            let registered = try await PipelineService(database: app.database).register(
                specText: "name: p\ntasks:\n  a: {command: [\"true\"]}\n", projectID: projectID, userID: try owner.requireID())
            try await StorageQuota(projectID: projectID, userID: nil, maxBytes: 10).create(on: app.database)
            let uri = "/api/v1/projects/\(projectID)"
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act
                let byOwner = try await send(client, .delete, uri, as: try app.headers(for: owner))
                let whileHolding = try await send(client, .delete, uri, as: try app.headers(for: admin))
                try await registered.version.delete(on: app.database)
                try await registered.pipeline.delete(on: app.database)
                let deleted = try await send(client, .delete, uri, as: try app.headers(for: admin))
                // check
                #expect(byOwner.status == .forbidden)
                #expect(whileHolding.status == .conflict && detail(whileHolding).contains("1 pipeline(s)"))
                #expect(deleted.status == .noContent)
            }
            #expect(try await Project.find(projectID, on: app.database) == nil)
            #expect(try await Membership.query(on: app.database).filter(\.$project.$id == projectID).count() == 0)
            #expect(try await StorageQuota.query(on: app.database).filter(\.$project.$id == projectID).count() == 0)
        }
    }

    @Test func test_requestBodies_unknownFieldsAreRefusedByName_knownSpellingsStillWork() async throws {
        try await TestApp.with { app in
            // setup
            let owner = try await app.user("owner")
            let project = try await app.project(members: [(owner, .owner)])
            let quota = "/api/v1/projects/\(try project.requireID())/storage/quota"
            let gate = "/api/v1/projects/\(try project.requireID())/models/m/gate"
            let asOwner = try app.headers(for: owner)
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act
                let misspelt = try await send(client, .put, quota, as: asOwner, body: #"{"userID": "\#(try owner.requireID())", "max_bytes": 5}"#)
                let snake = try await send(client, .put, quota, as: asOwner, body: #"{"user_id": "\#(try owner.requireID())", "max_bytes": 5}"#)
                let nested = try await send(
                    client, .put, gate, as: asOwner, body: #"{"rules": [{"metric": "auc", "kind": "at_least", "threshold": 0.5, "treshold": 1}]}"#)
                // check
                #expect(misspelt.status == .badRequest)
                #expect(detail(misspelt).contains("'userID'") && detail(misspelt).contains("user_id"))
                #expect(snake.status == .ok)
                #expect(nested.status == .badRequest && detail(nested).contains("'rules[0].treshold'"))
            }
            let quotas = try await StorageQuota.query(on: app.database).all()
            let ownerID = try owner.requireID()
            #expect(quotas.count == 1 && quotas.first?.$user.id == ownerID)
        }
    }
}
