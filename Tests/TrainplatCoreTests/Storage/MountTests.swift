import Foundation
import Testing
import TrainplatCore

@Suite("Storage mount parsing, confinement and Kubernetes rendering")
struct MountTests {
    static let owner = MountOwner(userID: "7A7A7A7A-0000-0000-0000-000000000007", projectID: "00000000-0000-0000-0000-0000000000AB")
    static let policy = StoragePolicy(
        hostPathRoots: [.init(path: "/data/shared", readOnly: true), .init(path: "/scratch", readOnly: false)],
        nfsExports: ["nfs.internal/exports/team"], s3Buckets: ["training-data"], maxMemoryBytes: 32 << 30)

    private func placed(_ text: String) throws -> [PlacedMount] {
        try MountParser.parse(document: text).map { try MountPlacement.place($0, owner: Self.owner, policy: Self.policy) }
    }

    @Test(arguments: [
        ("kubeflow-user-workspace(pvc):/mnt", "kubeflow-user-workspace(pvc):/mnt", "MNT"),
        ("10G(memory):/dev/shm", "10G(memory):/dev/shm", "SHM"),
        ("/data/shared/x(hostpath):/data", "/data/shared/x(hostpath):/data", "DATA"),
        ("models/run-1(pvc):/mnt/models:ro", "models/run-1(pvc):/mnt/models:ro", "MODELS"),
        ("app-config(configmap):/etc/app", "app-config(configmap):/etc/app", "APP"),
        ("db-creds(secret):/var/secrets/db", "db-creds(secret):/var/secrets/db", "DB"),
        ("nfs.internal/exports/team(nfs):/mnt/team/", "nfs.internal/exports/team(nfs):/mnt/team", "TEAM"),
        ("training-data/sets(s3):/mnt/s3-data", "training-data/sets(s3):/mnt/s3-data", "S3_DATA"),
        ("cache(pvc):/mnt/2024", "cache(pvc):/mnt/2024", "M_2024"),
    ])
    func test_parse_cubeStudioEntries_normaliseAndNameTheMount(entry: String, normalised: String, name: String) throws {
        // act
        let mount = try MountParser.parse(entry: entry)
        // check
        #expect(mount.text == normalised)
        #expect(mount.name == name)
    }

    @Test func test_parseList_commaAndSemicolonSeparated_andStructuredFormAgree() throws {
        // setup
        let text = "models(pvc):/mnt/models; 512Mi(memory):/dev/shm , cfg(configmap):/etc/cfg"
        let structured = """
            [{"type": "pvc", "source": "models", "mount_path": "/mnt/models"},
             {"type": "memory", "size_limit": "512Mi", "mount_path": "/dev/shm"},
             "cfg(configmap):/etc/cfg"]
            """
        // act
        let fromText = try MountParser.parse(document: text)
        let fromJSON = try MountParser.parse(document: structured)
        // check
        #expect(fromText.map(\.text) == ["models(pvc):/mnt/models", "512Mi(memory):/dev/shm", "cfg(configmap):/etc/cfg"])
        #expect(fromText.map(\.sizeLimitBytes) == [nil, 512 << 20, nil])
        #expect(fromText[2].readOnly)
        #expect(fromJSON.map(\.structured) == [fromText[0].structured, fromJSON[1].structured, fromText[2].structured])
        #expect(fromJSON[1].sizeLimitBytes == 512 << 20)
    }

    /// Hostile or broken specs, each with a fragment the error must contain.
    static let hostile: [(String, String)] = [
        ("models(pvc):/mnt/../etc", "'..'"),
        ("models(pvc):/mnt/./x", "'.'"),
        ("models/../other(pvc):/mnt", "'..'"),
        ("models/../../user_8(pvc):/mnt", "'..'"),
        ("models(pvc):mnt/models", "absolute path"),
        ("models(pvc):/", "must not be '/'"),
        ("models(pvc):/mnt//models", "empty segment"),
        ("models(pvc):/mnt/%2e%2e/x", "percent-encoded"),
        ("models%2f..(pvc):/mnt", "percent-encoded"),
        ("models(pvc):/mnt\u{0}/x", "control character U+0000"),
        ("models(pvc):/mnt/a\nb", "control character U+000A"),
        ("models(pvc):/mnt\\..\\x", "'\\'"),
        ("models(pvc):/mnt\u{2215}..\u{2215}x", "non-ASCII character U+2215"),
        ("models(pvc):/mnt\u{FF0F}x", "non-ASCII character U+FF0F"),
        ("models(pvc):/mnt/\u{202E}x", "non-ASCII character U+202E"),
        ("mod\u{0435}ls(pvc):/mnt", "non-ASCII character U+0435"),
        ("models(pvc):/mnt/\u{2024}\u{2024}/x", "non-ASCII character U+2024"),
        ("models(pvc):/" + String(repeating: "a", count: 300), "the limit is 255"),
        (String(repeating: "m", count: 1100) + "(pvc):/mnt", "the limit is 1024"),
        ("models(pvc):/proc/self", "reserved system location '/proc'"),
        ("models(pvc):/sys/kernel", "reserved system location '/sys'"),
        ("models(pvc):/etc", "reserved system location '/etc'"),
        ("models(pvc):/etc/cron.d", "reserved system location '/etc'"),
        ("10G(memory):/dev", "reserved system location '/dev'"),
        ("models(pvc):/dev/shm", "reserved system location '/dev'"),
        ("models(pvc):/var/run/secrets/kubernetes.io", "reserved system location '/var'"),
        ("models(pvc):/usr/bin", "reserved system location '/usr'"),
        ("models(pvc):/root/.ssh", "reserved system location '/root'"),
        ("Models(pvc):/mnt", "pvc claim 'Models'"),
        ("-models(pvc):/mnt", "pvc claim '-models'"),
        ("(pvc):/mnt", "needs a source"),
        ("models(volume):/mnt", "unknown mount type 'volume'"),
        ("models(PVC):/mnt", "unknown mount type 'PVC'"),
        ("models:/mnt", "not of the form source(type):/mount/path"),
        ("models(pvc)/mnt", "not of the form"),
        ("models(pvc):/mnt:rx", "unknown mode 'rx'"),
        ("models(pvc):/mnt:ro:extra", "more than one ':'"),
        ("data/x(hostpath):/data", "absolute path"),
        ("/data/shared/a b(hostpath):/data", "contains ' '"),
        ("lots(memory):/dev/shm", "memory size 'lots'"),
        ("-5G(memory):/dev/shm", "memory size '-5G'"),
        ("app_config(configmap):/etc/app", "configmap name 'app_config'"),
        ("creds(secret):/etc", "reserved system location '/etc'"),
        ("nfs.internal(nfs):/mnt/team", "needs an export path"),
        ("nfs_internal/exports(nfs):/mnt/team", "nfs server 'nfs_internal'"),
        ("Bucket/x(s3):/mnt/s3", "s3 bucket 'Bucket'"),
        ("10.0.0.1/x(s3):/mnt/s3", "s3 bucket '10.0.0.1'"),
        ("a(pvc):/mnt/a, b(pvc):/mnt/a", "overlap"),
        ("a(pvc):/mnt, b(pvc):/mnt/b", "overlap"),
        ("a(pvc):/x/data, b(pvc):/y/data", "both named DATA"),
    ]

    @Test(arguments: hostile)
    func test_parse_hostileSpec_isRefusedWithAReasonNamingTheProblem(spec: String, expected: String) {
        // act / check
        #expect {
            _ = try MountParser.parse(document: spec)
        } throws: { error in
            (error as? StorageError)?.message.contains(expected) == true
        }
    }

    @Test(arguments: [
        (#"{"type": "pvc", "source": "m", "mount_path": "/mnt", "mode": "rw"}"#, "unknown key 'mode'"),
        (#"{"type": "pvc", "mount_path": "/mnt"}"#, "source is required"),
        (#"{"type": "pvc", "source": "m", "mount_path": "/mnt", "read_only": "yes"}"#, "read_only must be true or false"),
        (#"{"type": "memory", "size_limit": "huge", "mount_path": "/dev/shm"}"#, "size_limit \"huge\""),
        (#"{"type": "pvc", "source": "m", "mount_path": "/mnt", "name": "9lives"}"#, "mount name '9LIVES'"),
        (#"[{"type": "pvc", "source": "m", "mount_path": "/mnt"}, 42]"#, "mount 2 of 2: expected a string or an object"),
        (#"{"type": "pvc", "#, "does not parse"),
    ])
    func test_parse_badStructuredForm_namesTheField(spec: String, expected: String) {
        #expect {
            _ = try MountParser.parse(document: spec)
        } throws: { error in
            (error as? StorageError)?.message.contains(expected) == true
        }
    }

    @Test func test_place_confinesEveryTypeToTheOwner() throws {
        // act
        let mounts = try placed("""
            models/run-1(pvc):/mnt/models, nfs.internal/exports/team/raw(nfs):/mnt/raw, training-data/sets(s3):/mnt/sets,
            /data/shared/imagenet(hostpath):/data, 1Gi(memory):/dev/shm
            """)
        // check
        let ownerDirectory = "project_00000000-0000-0000-0000-0000000000ab/user_7a7a7a7a-0000-0000-0000-000000000007"
        #expect(mounts.map(\.root) == ["models", "nfs.internal:/exports/team", "training-data", "/data/shared/imagenet", ""])
        #expect(mounts.map(\.subPath) == ["\(ownerDirectory)/run-1", "\(ownerDirectory)/raw", "\(ownerDirectory)/sets", "", ""])
        #expect(mounts.map(\.readOnly) == [false, false, false, true, false], "a read-only host root makes its mounts read-only")
    }

    @Test(arguments: [
        ("/data/sharedother(hostpath):/data", "not under an allowed root"),
        ("/etc/passwd(hostpath):/data", "not under an allowed root"),
        ("/data(hostpath):/data", "not under an allowed root"),
        ("nfs.internal/exports/teamx(nfs):/mnt/x", "not under a configured export"),
        ("nfs.evil/exports/team(nfs):/mnt/x", "not under a configured export"),
        ("other-bucket(s3):/mnt/s3", "not a configured bucket"),
        ("64Gi(memory):/dev/shm", "exceeds the limit"),
    ])
    func test_place_outsideThePolicy_isRefused(spec: String, expected: String) {
        #expect {
            _ = try placed(spec)
        } throws: { error in
            (error as? StorageError)?.message.contains(expected) == true
        }
    }

    @Test func test_place_twoOwnersOfOneClaim_neverShareADirectory() throws {
        // setup
        let mount = try MountParser.parse(entry: "workspace(pvc):/mnt")
        let other = MountOwner(userID: "8", projectID: Self.owner.projectID)
        // act
        let mine = try MountPlacement.place(mount, owner: Self.owner, policy: Self.policy)
        let theirs = try MountPlacement.place(mount, owner: other, policy: Self.policy)
        // check
        #expect(!mine.subPath.isEmpty && !theirs.subPath.isEmpty)
        #expect(!mine.subPath.hasPrefix(theirs.subPath + "/") && !theirs.subPath.hasPrefix(mine.subPath + "/"))
        #expect(mine.subPath != theirs.subPath)
    }

    @Test func test_kubernetes_rendersEachTypeAsItsVolumeSource() throws {
        // setup
        let mounts = try placed("""
            models(pvc):/mnt/models:ro, nfs.internal/exports/team(nfs):/mnt/team, training-data(s3):/mnt/s3,
            /scratch/tmp(hostpath):/scratch, 2Gi(memory):/dev/shm, cfg(configmap):/etc/cfg, creds(secret):/var/creds
            """)
        // act
        let volumes = KubernetesVolumes.volumes(mounts).compactMap(\.objectValue)
        let volumeMounts = KubernetesVolumes.volumeMounts(mounts).compactMap(\.objectValue)
        // check
        let kinds = volumes.map { $0.keys.filter { $0 != "name" }.sorted() }
        #expect(kinds == [["persistentVolumeClaim"], ["nfs"], ["csi"], ["hostPath"], ["emptyDir"], ["configMap"], ["secret"]])
        #expect(volumeMounts[0]["subPath"]?.stringValue?.hasPrefix(Self.owner.directory) == true)
        #expect(volumeMounts[0]["readOnly"] == .bool(true))
        #expect(volumes[1]["nfs"]?.objectValue?["path"]?.stringValue == "/exports/team/\(Self.owner.directory)")
        #expect(volumes[4]["emptyDir"]?.objectValue?["sizeLimit"]?.stringValue == String(2 << 30))
        #expect(volumes[6]["secret"]?.objectValue?["defaultMode"] == .int(0o400))
        #expect(Set(volumes.compactMap { $0["name"]?.stringValue }).count == 7)
    }

    @Test func test_specParser_reportsAMountProblemAtItsPath() {
        // setup
        let spec = """
            name: p
            tasks:
              t:
                command: [true]
                mounts: ["ok(pvc):/mnt/ok", "bad(pvc):/mnt/../x"]
            """
        // act / check
        #expect {
            _ = try SpecParser.parse(spec, knownPrograms: [])
        } throws: { error in
            let issues = (error as? SpecValidationError)?.issues ?? []
            return issues.count == 1 && issues[0].path == "tasks.t.mounts[1]" && issues[0].message.contains("'..'") && issues[0].line == 5
        }
    }
}

@Suite("Storage tiering: lifecycle rules and the dry-run plan")
struct TieringTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    private func candidate(_ id: String, tier: StorageTier = .hot, idleDays: Double, pinned: Bool = false) -> TieringCandidate {
        TieringCandidate(id: id, tier: tier, bytes: 10 << 30, lastUsed: Self.now.addingTimeInterval(-idleDays * 86_400), pinned: pinned)
    }

    @Test func test_plan_movesIdleVersionsColder_neverPinnedOnesOrWarmer() {
        // setup: 30 days -> warm, 90 days -> cold
        let rules = [LifecycleRule(unusedDays: 30, to: .warm), LifecycleRule(unusedDays: 90, to: .cold)]
        let candidates = [
            candidate("fresh", idleDays: 3), candidate("idle", idleDays: 45), candidate("old", idleDays: 120),
            candidate("pinned", idleDays: 400, pinned: true), candidate("already-cold", tier: .cold, idleDays: 400),
            candidate("warm-old", tier: .warm, idleDays: 95),
        ]
        // act
        let moves = TieringPlanner.plan(candidates, rules: rules, prices: .standard, now: Self.now)
        // check
        #expect(moves.map(\.id) == ["idle", "old", "warm-old"])
        #expect(moves.map(\.to) == [.warm, .cold, .cold])
        #expect(abs(moves[0].monthlySaving - 10 * (0.10 - 0.05)) < 1e-9)
        #expect(abs(moves[1].monthlySaving - 10 * (0.10 - 0.0125)) < 1e-9)
    }

    @Test(arguments: [
        ([LifecycleRule(unusedDays: 0, to: .cold)], "unused_days must be 1-36500"),
        ([LifecycleRule(unusedDays: 5, to: .hot)], "'hot' is not a target"),
        ([LifecycleRule(unusedDays: 5, to: .cold), LifecycleRule(unusedDays: 9, to: .cold)], "two rules move data to 'cold'"),
    ])
    func test_rules_invalid_areRefusedWithTheRule(rules: [LifecycleRule], expected: String) {
        #expect {
            try LifecycleRule.check(rules)
        } throws: { error in
            (error as? StorageError)?.message.contains(expected) == true
        }
    }

    @Test func test_prices_parseOverridesAndRefusesNonsense() throws {
        #expect(try TierPrices.parse("cold=0.004").perGiBMonth[.cold] == 0.004)
        #expect(try TierPrices.parse("cold=0.004").perGiBMonth[.hot] == 0.10)
        #expect(throws: StorageError.self) { try TierPrices.parse("frozen=0.001") }
        #expect(throws: StorageError.self) { try TierPrices.parse("hot=-1") }
    }
}
