import FluentKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
@testable import TrainplatApp
import TrainplatCore

@Suite("Storage mounts on the local executor: isolation, limits, quotas, API")
struct StorageMountTests {
    /// Tasks see every mount through TRAINPLAT_MOUNT_<NAME>; this one reports what it finds.
    static let reportingTask = #"""
        name: isolation
        tasks:
          look:
            mounts: "workspace(pvc):/mnt/ws, nfs.local/exports/team(nfs):/mnt/team, 8Mi(memory):/dev/shm, cfg(configmap):/etc/cfg, creds(secret):/var/creds"
            command:
              - sh
              - -c
              - |
                touch "$TRAINPLAT_MOUNT_WS/$TRAINPLAT_RUN_ID" "$TRAINPLAT_MOUNT_TEAM/$TRAINPLAT_RUN_ID" && sleep 1
                printf '{"outputs": {"ws": "%s", "team": "%s", "cfg": "%s", "secret": "%s", "shm": "%s", "secret_dir": "%s"}}' \
                  "$(ls "$TRAINPLAT_MOUNT_WS")" "$(ls "$TRAINPLAT_MOUNT_TEAM")" "$(cat "$TRAINPLAT_MOUNT_CFG/app.conf")" \
                  "$(cat "$TRAINPLAT_MOUNT_CREDS/token")" "$TRAINPLAT_MOUNT_SHM" "$TRAINPLAT_MOUNT_CREDS" > outputs.json
        """#

    private static func configure(_ config: inout AppConfig) {
        config.storage.policy.nfsExports = ["nfs.local/exports/team"]
    }

    /// A saved configmap or secret of `user` in `project`, as the API stores it.
    private func save(_ entry: String, data: [String: String], user: UUID, project: UUID, app: TestApp) async throws {
        let spec = try MountParser.parse(entry: entry)
        let config = try MountData.config(data, for: spec.type, secrets: app.app.secrets)
        try await StorageMount(spec: spec, userID: user, projectID: project, config: config).create(on: app.database)
    }

    private func start(_ spec: String, user: UUID, project: UUID, app: TestApp) async throws -> PipelineRun {
        let version = try await PipelineService(database: app.database).register(specText: spec, projectID: project, userID: user).version
        return try await RunService(database: app.database).start(versionID: try version.requireID(), params: [:], userID: user)
    }

    private func finish(_ runs: [PipelineRun], app: TestApp) async throws -> [TaskRun] {
        try await app.drive(until: {
            for run in runs where try await PipelineRun.find(run.requireID(), on: app.database)?.status.isTerminal != true { return false }
            return true
        }, timeout: .seconds(60))
        var tasks: [TaskRun] = []
        for run in runs { tasks += try await app.tasks(of: run).values }
        return tasks
    }

    @Test func test_twoUsersAtOnce_eachSeesOnlyTheirOwnFilesThroughEveryMount() async throws {
        try await TestApp.with(configure: Self.configure) { app in
            // setup: two members of one project, each with their own configmap and secret
            let alice = try await app.user(), bob = try await app.user()
            let project = try await app.project(members: [(alice, .member), (bob, .member)])
            let (aliceID, bobID, projectID) = (try alice.requireID(), try bob.requireID(), try project.requireID())
            for (user, name) in [(aliceID, "alice"), (bobID, "bob")] {
                try await save("cfg(configmap):/etc/cfg", data: ["app.conf": "\(name)-config"], user: user, project: projectID, app: app)
                try await save("creds(secret):/var/creds", data: ["token": "\(name)-secret"], user: user, project: projectID, app: app)
            }
            // act: both runs at once
            let runs = [
                try await start(Self.reportingTask, user: aliceID, project: projectID, app: app),
                try await start(Self.reportingTask, user: bobID, project: projectID, app: app),
            ]
            let tasks = try await finish(runs, app: app)
            // check
            for (run, name) in zip(runs, ["alice", "bob"]) {
                let task = try #require(tasks.first { $0.$run.id == run.id })
                let outputs = task.outputs ?? [:]
                let runID = try run.requireID().uuidString.lowercased()
                #expect(task.status == .succeeded, "\(task.reason ?? "")")
                #expect(outputs["ws"]?.stringValue == runID, "pvc: only this user's file")
                #expect(outputs["team"]?.stringValue == runID, "nfs: only this user's file")
                #expect(outputs["cfg"]?.stringValue == "\(name)-config")
                #expect(outputs["secret"]?.stringValue == "\(name)-secret")
                // memory mounts and materialised secrets do not outlive the attempt
                for key in ["shm", "secret_dir"] {
                    let path = try #require(outputs[key]?.stringValue)
                    #expect(!FileManager.default.fileExists(atPath: path), "\(key) left behind at \(path)")
                }
            }
        }
    }

    @Test func test_someoneElsesConfigmap_failsTheTaskWithAReason() async throws {
        try await TestApp.with { app in
            // setup: alice has the configmap, bob's run asks for it
            let alice = try await app.user(), bob = try await app.user()
            let project = try await app.project(members: [(alice, .member), (bob, .member)])
            try await save("shared(configmap):/etc/shared", data: ["a": "1"], user: try alice.requireID(), project: try project.requireID(), app: app)
            let spec = "name: borrow\ntasks:\n  t: {mounts: \"shared(configmap):/etc/shared\", command: [sh, -c, \"echo '{}' > outputs.json\"]}\n"
            // act
            let run = try await start(spec, user: try bob.requireID(), project: try project.requireID(), app: app)
            let task = try #require(try await finish([run], app: app).first)
            // check
            #expect(task.status == .failed)
            #expect(task.reason?.contains("configmap 'shared' does not exist for this user in this project") == true, "\(task.reason ?? "")")
        }
    }

    @Test func test_memoryMountOverItsSize_stopsTheTaskWithAReason() async throws {
        try await TestApp.with { app in
            // setup: 3 MiB written into a 1 MiB memory mount
            let (user, project) = try await app.owner()
            let spec = #"""
                name: greedy
                tasks:
                  t: {mounts: "1Mi(memory):/dev/shm", command: [sh, -c, "head -c 3145728 /dev/zero > $TRAINPLAT_MOUNT_SHM/blob; sleep 30"]}
                """#
            // act
            let run = try await start(spec, user: user, project: project, app: app)
            let task = try #require(try await finish([run], app: app).first)
            // check
            #expect(task.status == .failed)
            #expect(task.reason?.contains("mount SHM holds") == true && task.reason?.contains("over its size limit of 1048576 bytes") == true, "\(task.reason ?? "")")
        }
    }

    @Test func test_hostPathSymlinkOutOfItsRoot_isRefused() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("hostroot-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: root + "/data", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/escape", withDestinationPath: "/etc")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await TestApp.with(configure: { $0.storage.policy.hostPathRoots = [.init(path: root, readOnly: true)] }) { app in
            // setup
            let (user, project) = try await app.owner()
            let command = #"command: [sh, -c, "test -d \"$TRAINPLAT_MOUNT_DATA\" && echo '{}' > outputs.json"]"#
            let good = "name: good\ntasks:\n  t: {mounts: \"\(root)/data(hostpath):/data\", \(command)}\n"
            let evil = "name: evil\ntasks:\n  t: {mounts: \"\(root)/escape(hostpath):/data\", \(command)}\n"
            // act
            let runs = [try await start(good, user: user, project: project, app: app), try await start(evil, user: user, project: project, app: app)]
            let tasks = try await finish(runs, app: app)
            // check
            let inside = tasks.first { $0.$run.id == runs[0].id }, outside = tasks.first { $0.$run.id == runs[1].id }
            #expect(inside?.status == .succeeded)
            #expect(outside?.status == .failed)
            #expect(outside?.reason?.contains("resolves to '/etc', outside every allowed root") == true, "\(outside?.reason ?? "")")
        }
    }

    @Test func test_api_quotaOverflow_refusesTheRunBeforeItStarts_andReportsUsage() async throws {
        try await TestApp.with { app in
            // setup: a pipeline writing to a pvc mount; 10 KB already in the owner's directory
            let owner = try await app.user()
            let project = try await app.project(members: [(owner, .owner)])
            let (userID, projectID) = (try owner.requireID(), try project.requireID())
            let spec = "name: writer\ntasks:\n  t: {mounts: \"ws(pvc):/mnt/ws\", command: [sh, -c, \"echo '{}' > outputs.json\"]}\n"
            let version = try await PipelineService(database: app.database).register(specText: spec, projectID: projectID, userID: userID).version
            let mount = try MountPlacement.place(
                try MountParser.parse(entry: "ws(pvc):/mnt/ws"), owner: MountOwner(userID: userID.uuidString, projectID: projectID.uuidString),
                policy: StoragePolicy())
            let directory = try #require(app.app.volumes.directory(of: mount))
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(count: 10_000).write(to: URL(fileURLWithPath: directory + "/blob"))
            let headers = try app.headers(for: owner)
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act: a quota below the usage, then a start
                let quota = ByteBuffer(string: #"{"user_id": "\#(userID)", "max_bytes": 5000}"#)
                try await client.execute(uri: "/api/v1/projects/\(projectID)/storage/quota", method: .put, headers: headers, body: quota) { response in
                    #expect(response.status == .ok)
                    let standing = try JSONDecoder().decode([String: JSONValue].self, from: Data(buffer: response.body))
                    #expect((standing["used_bytes"]?.intValue ?? 0) >= 10_000)
                }
                try await client.execute(uri: "/api/v1/pipelines/\(version.$pipeline.id)/runs", method: .post, headers: headers) { response in
                    // check
                    #expect(response.status == .conflict)
                    #expect(String(buffer: response.body).contains("uses"), "names the usage")
                    #expect(String(buffer: response.body).contains("5000-byte quota"))
                }
                try await client.execute(uri: "/api/v1/projects/\(projectID)/storage", method: .get, headers: headers) { response in
                    let report = try JSONDecoder().decode([String: JSONValue].self, from: Data(buffer: response.body))
                    let user = report["users"]?.arrayValue?.first?.objectValue
                    #expect(user?["quota_bytes"]?.intValue == 5000)
                    #expect((user?["by_type"]?.objectValue?["pvc"]?.intValue ?? 0) >= 10_000)
                }
            }
            #expect(try await PipelineRun.query(on: app.database).count() == 0)
            // the monitor's sweep exports the owner's usage and quota
            try await StorageMonitor(database: app.database, quotas: app.app.quotas, interval: .seconds(60), logger: Logger(label: "test"))
                .measureAll()
            let exported = String(decoding: MetricsRegistry.shared.emitToBuffer(), as: UTF8.self)
            let user = userID.uuidString.lowercased()
            #expect(exported.contains(#"trainplat_storage_quota_bytes{project="\#(projectID.uuidString.lowercased())",user="\#(user)"} 5000.0"#))
            #expect(exported.contains(#"trainplat_storage_used_bytes{project="\#(projectID.uuidString.lowercased())",user="\#(user)",type="pvc"} \#(Double(try DiskUsage.measure(directory).bytes))"#))
        }
    }

    @Test func test_api_objectQuota_isValidated_storedBesideTheByteQuota_andReplacedByEachPut() async throws {
        try await TestApp.with { app in
            // setup
            let owner = try await app.user()
            let projectID = try await app.project(members: [(owner, .owner)]).requireID()
            let headers = try app.headers(for: owner)
            let uri = "/api/v1/projects/\(projectID)/storage/quota"
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act + check: a negative count is named; a valid one is stored; a PUT without it clears it
                try await client.execute(uri: uri, method: .put, headers: headers, body: ByteBuffer(string: #"{"max_bytes": 1000, "max_objects": -1}"#)) {
                    #expect($0.status == .badRequest)
                    #expect(String(buffer: $0.body).contains("field 'max_objects' must be 0 or more, got -1"))
                }
                try await client.execute(uri: uri, method: .put, headers: headers, body: ByteBuffer(string: #"{"max_bytes": 1000, "max_objects": 10}"#)) {
                    let standing = try JSONDecoder().decode([String: JSONValue].self, from: Data(buffer: $0.body))
                    #expect(standing["quota_objects"]?.intValue == 10)
                    #expect(standing["objects"]?.intValue == 0)
                }
                try await client.execute(uri: uri, method: .put, headers: headers, body: ByteBuffer(string: #"{"max_bytes": 2000}"#)) {
                    let standing = try JSONDecoder().decode([String: JSONValue].self, from: Data(buffer: $0.body))
                    #expect(standing["quota_bytes"]?.intValue == 2000)
                    #expect(standing["quota_objects"] == nil)
                }
            }
        }
    }

    @Test func test_api_unreachableS3_refusesTheRunWithTheReason_andKeepsNothing() async throws {
        // setup: s3 at a port nothing listens on, and a quota that makes the run count usage
        try await TestApp.with(configure: {
            $0.storage.s3 = .init(url: "http://127.0.0.1:9", accessKeyID: "key", secretAccessKey: "secret")
            $0.storage.policy.s3Buckets = ["sets"]
        }) { app in
            let owner = try await app.user()
            let projectID = try await app.project(members: [(owner, .owner)]).requireID()
            let spec = "name: s3-writer\ntasks:\n  t: {mounts: \"sets(s3):/mnt/sets\", command: [\"true\"]}\n"
            let version = try await PipelineService(database: app.database).register(specText: spec, projectID: projectID, userID: try owner.requireID()).version
            try await StorageQuota(projectID: projectID, userID: nil, maxBytes: 1 << 30, maxObjects: 100).create(on: app.database)
            let headers = try app.headers(for: owner)
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act
                try await client.execute(uri: "/api/v1/pipelines/\(version.$pipeline.id)/runs", method: .post, headers: headers) { response in
                    // check
                    #expect(response.status == .badGateway)
                    #expect(String(buffer: response.body).contains("listing s3://sets/project_\(projectID.uuidString.lowercased())/"))
                }
            }
            #expect(try await PipelineRun.query(on: app.database).count() == 0)
        }
    }

    @Test func test_api_secretDataIsSealedAndNeverReturned_badSpecsNameTheProblem() async throws {
        try await TestApp.with { app in
            // setup
            let member = try await app.user()
            let project = try await app.project(members: [(member, .member)])
            let projectID = try project.requireID()
            let headers = try app.headers(for: member)
            try await Application(router: app.app.buildRouter()).test(.router) { client in
                // act
                let secret = ByteBuffer(string: #"{"spec": "db(secret):/var/db", "data": {"password": "hunter2-very-secret"}}"#)
                try await client.execute(uri: "/api/v1/projects/\(projectID)/mounts", method: .post, headers: headers, body: secret) { response in
                    // check
                    #expect(response.status == .created)
                    #expect(!String(buffer: response.body).contains("hunter2"))
                    #expect(String(buffer: response.body).contains(#""keys":["password"]"#))
                }
                try await client.execute(uri: "/api/v1/projects/\(projectID)/mounts", method: .get, headers: headers) { response in
                    #expect(response.status == .ok)
                    #expect(!String(buffer: response.body).contains("hunter2"))
                }
                let bad = ByteBuffer(string: #"{"spec": "ws(pvc):/mnt/../etc"}"#)
                try await client.execute(uri: "/api/v1/projects/\(projectID)/mounts", method: .post, headers: headers, body: bad) { response in
                    #expect(response.status == .unprocessableContent)
                    #expect(String(buffer: response.body).contains("'..'"))
                }
                let missingData = ByteBuffer(string: #"{"spec": {"type": "configmap", "source": "c", "mount_path": "/etc/c"}}"#)
                try await client.execute(uri: "/api/v1/projects/\(projectID)/mounts", method: .post, headers: headers, body: missingData) { response in
                    #expect(response.status == .unprocessableContent)
                    #expect(String(buffer: response.body).contains("needs data"))
                }
            }
            let stored = try #require(try await StorageMount.query(on: app.database).first())
            #expect(stored.config["sealed_data"] != nil)
            #expect(!stored.config.canonicalDescription.contains("hunter2"))
        }
    }
}

extension JSONObject {
    fileprivate var canonicalDescription: String { JSONValue.object(self).canonicalJSON() }
}
