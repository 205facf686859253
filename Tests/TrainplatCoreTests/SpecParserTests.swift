import Testing
import TrainplatCore

@Suite("Pipeline spec parsing and validation")
struct SpecParserTests {
    static let programs: Set<String> = ["doris.extract", "learning.train"]

    private func issues(_ text: String) -> [SpecIssue] {
        do {
            _ = try SpecParser.parse(text, knownPrograms: Self.programs)
            Issue.record("expected the spec to be rejected")
            return []
        } catch {
            return error.issues
        }
    }

    @Test func test_parse_fullSpec_readsEveryField() throws {
        // setup
        let text = """
            name: daily
            params:
              start: {type: datetime}
              mode: {type: enum, values: [fast, slow], default: fast}
            schedule: "0 2 * * *"
            concurrency: 3
            tasks:
              extract: {uses: doris.extract, with: {start: "{{ params.start }}", limit: 10}}
              train:
                uses: learning.train
                needs: [extract]
                retries: {count: 2, backoff: 30s}
                timeout: 1h30m
                resources: {cpu: 500m, memory: 4Gi, gpu: 1}
                mounts: "models(pvc):/mnt/models, 10G(memory):/dev/shm"
                cache: true
                when: all_done
                with: {data: "{{ tasks.extract.outputs.snapshots }}"}
            """
        // act
        let spec = try SpecParser.parse(text, knownPrograms: Self.programs)
        // check
        let train = try #require(spec.task(named: "train"))
        #expect(spec.params.map(\.name) == ["mode", "start"])
        #expect(spec.params.first?.defaultValue == .string("fast"))
        #expect(spec.concurrency == 3)
        #expect(spec.task(named: "extract")?.with["limit"] == .int(10))
        #expect(train.retries == RetryPolicy(count: 2, backoffSeconds: 30))
        #expect(train.timeoutSeconds == 5400)
        #expect(train.resources == ResourceRequest(cpu: 0.5, memoryBytes: 4 << 30, gpu: 1))
        #expect(train.mounts.map(\.text) == ["models(pvc):/mnt/models", "10G(memory):/dev/shm"])
        #expect(train.cache && train.when == .allDone)
    }

    @Test func test_parse_manyProblems_reportsAllWithPathsAndLines() {
        // setup: five independent mistakes
        let text = """
            name: broken
            schedule: "61 * * * *"
            tasks:
              a: {uses: doris.extract, colour: red}
              b: {uses: no.such.program, needs: [ghost]}
              c: {command: [x], timeout: soon, resources: {memory: lots}}
            """
        // act
        let found = issues(text)
        // check
        let paths = Set(found.map(\.path))
        #expect(paths == ["schedule", "tasks.a.colour", "tasks.b.uses", "tasks.b.needs[0]", "tasks.c.timeout", "tasks.c.resources.memory"])
        #expect(found.first { $0.path == "tasks.a.colour" }?.line == 4)
        #expect(found.allSatisfy { $0.line != nil })
    }

    @Test func test_parse_cycle_printsTheCycle() {
        let found = issues("name: loop\ntasks:\n  a: {command: [x], needs: [c]}\n  b: {command: [x], needs: [a]}\n  c: {command: [x], needs: [b]}\n")
        #expect(found.count == 1)
        #expect(found.first?.message == "dependency cycle: a -> b -> c -> a")
    }

    @Test func test_parse_withValues_keepTheirYAMLType_plainTypedAndQuotedText() throws {
        // setup
        let text = """
            name: typed
            tasks:
              t:
                uses: learning.train
                with: {n: 3, hex: 0x1F, f: 1.5, inf: .inf, b: true, off: off, z: null, tilde: ~, q: "3", qb: 'true', qz: 'null', s: text}
            """
        // act
        let with = try SpecParser.parse(text, knownPrograms: Self.programs).tasks.first?.with
        // check
        #expect(with == [
            "n": .int(3), "hex": .int(31), "f": .double(1.5), "inf": .double(.infinity), "b": .bool(true), "off": .bool(false),
            "z": .null, "tilde": .null, "q": .string("3"), "qb": .string("true"), "qz": .string("null"), "s": .string("text"),
        ])
    }

    @Test func test_parse_duplicateKeys_plainOrQuoted_areAnIssue() {
        for text in ["name: a\nname: b\ntasks: {}\n", "name: a\ntasks: {t: {command: [\"true\"]}, \"t\": {command: [\"true\"]}}\n"] {
            #expect(issues(text).contains { $0.message.hasPrefix("duplicate key") }, "\(text)")
        }
    }

    @Test func test_parse_duplicateTaskName_isAnIssue() {
        let found = issues("name: dup\ntasks:\n  a: {command: [x]}\n  a: {command: [y]}\n")
        #expect(found.count == 1)
        #expect(found.first?.message.hasPrefix("duplicate key 'a'") == true)
        #expect(found.first?.line == 3)
    }

    @Test(arguments: [
        ("{{ params.missing }}", "undefined parameter 'missing'"),
        ("{{ tasks.sibling.outputs.x }}", "not upstream"),
        ("{{ os.system }}", "unknown template name"),
        ("{{ run.logical_time - soon }}", "bad date arithmetic"),
        ("{{ params.day", "unclosed"),
    ])
    func test_parse_badTemplate_isRejected(template: String, expected: String) {
        let text = "name: t\nparams: {day: {type: datetime}}\ntasks:\n  sibling: {command: [x]}\n  t: {command: [echo, \"\(template)\"]}\n"
        let found = issues(text)
        #expect(found.map(\.path) == ["tasks.t.command[1]"])
        #expect(found.first?.message.contains(expected) == true, "\(found)")
    }

    @Test(arguments: ["", "[]", "name: x", "name: x\ntasks: {}", "tasks: {a: {command: [x]}}", "{{{", "name: 9lives\ntasks: {a: {command: [x]}}"])
    func test_parse_malformedDocument_isRejectedNotCrashed(text: String) {
        #expect(!issues(text).isEmpty)
    }

    @Test func test_parse_oversizedSpec_isRefusedBySize() {
        let text = "name: big\n# " + String(repeating: "x", count: SpecParser.maxSpecBytes) + "\ntasks: {a: {command: [x]}}\n"
        #expect(issues(text).first?.message.contains("the limit is") == true)
    }

    @Test func test_canonicalHash_ignoresFormattingAndKeyOrder_andRoundTrips() throws {
        // setup
        let yaml = "name: p\ntasks:\n  a: {command: [echo, hi], retries: 1}\n  b: {needs: [a], command: [echo]}\n"
        let json = #"{"tasks": {"b": {"command": ["echo"], "needs": ["a"]}, "a": {"retries": {"count": 1, "backoff": "10s"}, "command": ["echo", "hi"]}}, "name": "p"}"#
        // act
        let fromYAML = try SpecParser.parse(yaml, knownPrograms: [])
        let fromJSON = try SpecParser.parse(json, knownPrograms: [])
        let reparsed = try SpecParser.parse(fromYAML.canonicalJSON(), knownPrograms: [])
        // check
        #expect(fromYAML.contentHash() == fromJSON.contentHash())
        #expect(reparsed.canonicalJSON() == fromYAML.canonicalJSON())
        #expect(fromYAML.contentHash() != (try SpecParser.parse(yaml.replacingOccurrences(of: "hi", with: "ho"), knownPrograms: [])).contentHash())
    }

    /// `validate` writes a large spec's canonical tasks in pieces on several threads: the
    /// joined pieces must be the bytes written in one go, whatever order the tasks come in.
    @Test func test_validate_largeSpecInAnyOrder_writesTheCanonicalFormOfOneGo() throws {
        var random = SpecFuzzTests.Generator(state: 20_261_206)
        let names = (0..<3_000).map { "t\($0)" }.shuffled(using: &random)
        let lines = names.enumerated().map { index, name in
            let needs = index > 0 ? ", needs: [\(names[Int.random(in: 0..<index, using: &random)])]" : ""
            let retries = index % 7 == 0 ? ", retries: {count: 2, backoff: 30s}" : ""
            return "  \(name): {command: [echo, \(name)]\(needs)\(retries)}"
        }
        let text = "name: pieces\ntasks:\n" + lines.joined(separator: "\n") + "\n"
        let validated = try SpecParser.validate(text, knownPrograms: [])
        let inOneGo = try SpecParser.parse(text, knownPrograms: []).canonicalJSON()
        #expect(validated.canonicalJSON == inOneGo)
        #expect(validated.contentHash == ContentHash.sha256(inOneGo))
    }

    /// The canonical bytes are each stored version's identity: a spec that did not change
    /// must keep them. Captured from the JSONValue-tree writer that the direct one replaced.
    @Test func test_canonicalJSON_ofEveryField_isByteForByteTheStoredForm() throws {
        // setup
        let text = #"""
            name: golden-every-field
            params:
              start: {type: datetime}
              mode: {type: enum, values: [fast, slow], default: fast}
              epochs: {type: int, default: 3}
              rate: {type: float, default: 0.25}
              dry: {type: bool, default: false}
            schedule: "0 2 * * *"
            catchup: backfill
            concurrency: 3
            tasks:
              extract:
                uses: doris.extract
                image: "registry.local/trainplat:1.2"
                with: {start: "{{ params.start }}", limit: 10, ratio: 1.5, big: 1e20, tiny: -0.001, flag: on, none: ~, nested: {z: [1, "two", {b: 2, a: 1}], "é": "accent", Z: upper, "tab\tkey": "quote \" and \\ slash /"}}
              Zeta: {command: [echo, "{{ run.id }}", "{{ run.logical_time - 1d }}"], needs: [extract], timeout: 45m}
              train:
                uses: learning.train
                needs: [extract, Zeta]
                retries: {count: 2, backoff: 30s}
                timeout: 1h30m
                resources: {cpu: 500m, memory: 4Gi, gpu: 1}
                mounts: "models(pvc):/mnt/models, 10G(memory):/dev/shm"
                cache: true
                when: all_done
                with: {data: "{{ tasks.extract.outputs.snapshots }}", list: [], obj: {}}
              eval:
                uses: learning.evaluate
                needs: train
                retries: 0
                resources: {cpu: "2"}
                mounts: [{type: pvc, source: shared, mount_path: /mnt/shared, read_only: true}]
                when: one_failed
            """#
        // act
        let spec = try SpecParser.parse(text, knownPrograms: TaskPrograms.builtIn)
        // check
        #expect(spec.canonicalJSON() == #"{"catchup":"backfill","concurrency":3,"name":"golden-every-field","params":{"dry":{"default":false,"type":"bool"},"epochs":{"default":3,"type":"int"},"mode":{"default":"fast","type":"enum","values":["fast","slow"]},"rate":{"default":0.25,"type":"float"},"start":{"type":"datetime"}},"schedule":"0 2 * * *","tasks":{"Zeta":{"cache":false,"command":["echo","{{ run.id }}","{{ run.logical_time - 1d }}"],"needs":["extract"],"retries":{"count":0},"timeout":"2700s","when":"all_success"},"eval":{"cache":false,"mounts":[{"mount_path":"/mnt/shared","name":"SHARED","read_only":true,"source":"shared","type":"pvc"}],"needs":["train"],"resources":{"cpu":"2000m"},"retries":{"count":0},"uses":"learning.evaluate","when":"one_failed"},"extract":{"cache":false,"image":"registry.local/trainplat:1.2","needs":[],"retries":{"count":0},"uses":"doris.extract","when":"all_success","with":{"big":1e+20,"flag":true,"limit":10,"nested":{"Z":"upper","tab\tkey":"quote \" and \\ slash /","z":[1,"two",{"a":1,"b":2}],"é":"accent"},"none":null,"ratio":1.5,"start":"{{ params.start }}","tiny":-0.001}},"train":{"cache":true,"mounts":[{"mount_path":"/mnt/models","name":"MODELS","read_only":false,"source":"models","type":"pvc"},{"mount_path":"/dev/shm","name":"SHM","read_only":false,"size_limit":10000000000,"source":"10G","type":"memory"}],"needs":["extract","Zeta"],"resources":{"cpu":"500m","gpu":1,"memory":"4294967296"},"retries":{"backoff":"30s","count":2},"timeout":"5400s","uses":"learning.train","when":"all_done","with":{"data":"{{ tasks.extract.outputs.snapshots }}","list":[],"obj":{}}}}}"#)
        #expect(spec.contentHash() == "a3c71b6df9d59ea64ce3fc75f6bc99f87a3f83f7c1791792280e7b87cb125ac5")
    }
}

@Suite("Pipeline version diff")
struct SpecDiffTests {
    private func spec(_ text: String) throws -> PipelineSpec {
        try SpecParser.parse(text, knownPrograms: ["learning.train"])
    }

    @Test func test_changes_nameAddedRemovedAndChangedFields_ignoringFormatting() throws {
        // setup
        let old = try spec("""
            name: p
            tasks:
              prep: {command: [echo, a]}
              train: {uses: learning.train, needs: [prep], with: {epochs: 3, lr: 0.1}}
            """)
        let new = try spec("""
            name: p
            tasks:
              train:
                uses: learning.train
                with: {lr: 0.1, epochs: 5}
                retries: 2
              report: {command: [echo, b]}
            """)
        // act
        let changes = try spec("name: p\ntasks:\n  prep: {command: [echo, a]}\n  train: {uses: learning.train, needs: [prep], with: {lr: 0.1, epochs: 3}}\n")
            .changes(to: old)
        let diff = old.changes(to: new)
        // check
        #expect(changes.isEmpty, "formatting and key order are not changes")
        #expect(diff.map(\.path) == ["tasks.prep", "tasks.report", "tasks.train.needs", "tasks.train.retries.backoff", "tasks.train.retries.count", "tasks.train.with.epochs"])
        #expect(diff.map(\.kind) == [.removed, .added, .changed, .added, .changed, .changed])
        #expect(diff.last?.old == .int(3) && diff.last?.new == .int(5))
    }
}
