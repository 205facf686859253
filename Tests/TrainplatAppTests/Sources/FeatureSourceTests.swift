import FluentKit
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import TrainplatApp
import TrainplatCore

@Suite("Feature sources")
struct FeatureSourceTests {
    static let mariadb = #"{"name": "warehouse", "kind": "mysql", "host": "127.0.0.1", "port": 53306, "database": "features", "username": "reader", "password": "s3cret-pass", "pool": {"pool_size": 4}}"#

    @Test func test_create_sealsThePassword_andNeverReturnsIt() async throws {
        try await TestApp.with { app in
            // setup
            let owner = try await app.user()
            let project = try await app.project(members: [(owner, .owner)])
            let base = "/api/v1/projects/\(try project.requireID())/feature-sources"
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act
                let created = try await client.execute(uri: base, method: .post, headers: try app.headers(for: owner), body: ByteBuffer(string: Self.mariadb))
                let listed = try await client.execute(uri: base, method: .get, headers: try app.headers(for: owner))
                // check
                #expect(created.status == .created)
                #expect(!String(buffer: created.body).contains("s3cret"))
                #expect(String(buffer: listed.body).contains(#""has_password":true"#))
                #expect(!String(buffer: listed.body).contains("s3cret"))
            }
            let stored = try #require(try await FeatureSource.query(on: app.database).first()?.passwordSecret)
            #expect(!stored.contains("s3cret"))
            #expect(try app.app.secrets.open(stored) == "s3cret-pass")
        }
    }

    @Test(arguments: [
        (#"{"name": "x", "kind": "mysql", "host": "db; rm -rf /", "database": "d"}"#, "'host'"),
        (#"{"name": "x", "kind": "sqlite", "host": "relative/path.sqlite"}"#, "'host'"),
        (#"{"name": "x", "kind": "sqlite", "host": "/data/../etc/passwd"}"#, "'host'"),
        (#"{"name": "x", "kind": "mysql", "host": "db", "database": "a`b"}"#, "'database'"),
        (#"{"name": "x", "kind": "mysql", "host": "db", "database": "d", "port": 70000}"#, "'port'"),
        (#"{"name": "x", "kind": "mysql", "host": "db", "database": "d", "pool": {"evil": 1}}"#, "'pool.evil'"),
        (#"{"name": "../x", "kind": "sqlite", "host": "/a.sqlite"}"#, "'name'"),
        (#"{"name": "x", "kind": "oracle", "host": "db"}"#, "'kind'"),
    ])
    func test_create_badField_is400NamingIt(body: String, field: String) async throws {
        try await TestApp.with { app in
            let owner = try await app.user()
            let project = try await app.project(members: [(owner, .owner)])
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                let response = try await client.execute(
                    uri: "/api/v1/projects/\(try project.requireID())/feature-sources", method: .post, headers: try app.headers(for: owner),
                    body: ByteBuffer(string: body))
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains(field), "\(String(buffer: response.body))")
            }
            #expect(try await FeatureSource.query(on: app.database).count() == 0)
        }
    }

    @Test func test_resolver_turnsTheSourceIntoArgumentsAndOneSecretVariable() async throws {
        try await TestApp.with { app in
            // setup
            let project = try await app.project(members: [])
            let source = FeatureSource(projectID: try project.requireID(), name: "warehouse", kind: .mysql, host: "127.0.0.1")
            (source.port, source.database, source.username) = (53306, "features", "reader")
            source.passwordSecret = app.app.secrets.seal("s3cret-pass")
            source.poolSettings = ["pool_size": .int(4)]
            try await source.create(on: app.database)
            let resolver = FeatureSourceResolver(database: app.database, secrets: app.app.secrets)
            // act
            let resolved = try await resolver.resolve(["feature_source": .string("warehouse"), "start": .string("s")], uses: "doris.extract", projectID: try project.requireID())
            let untouched = try await resolver.resolve(["feature_source": .string("warehouse")], uses: "learning.train", projectID: try project.requireID())
            // check
            #expect(resolved.arguments == [
                "source_url": .string("mysql+pymysql://reader@127.0.0.1:53306/features"), "password_env": .string("TRAINPLAT_SOURCE_PASSWORD"),
                "pool_size": .int(4), "start": .string("s"),
            ])
            #expect(resolved.environment == ["TRAINPLAT_SOURCE_PASSWORD": "s3cret-pass"])
            #expect(untouched.environment.isEmpty)
            let portless = FeatureSource(projectID: try project.requireID(), name: "maria", kind: .mysql, host: "db")
            portless.database = "features"
            #expect(portless.connectionURL == "mysql+pymysql://db:3306/features")
            await #expect(throws: TaskContract.ContractError.self) {
                _ = try await resolver.resolve(["feature_source": .string("nope")], uses: "doris.extract", projectID: try project.requireID())
            }
        }
    }
}
