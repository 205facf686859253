import Testing

@testable import TrainplatCore

/// The fast reader must give exactly libyaml's tree (every scalar, style, tag, position and
/// the tree's height) for whatever it accepts, and decline what it cannot read that way.
@Suite("Spec document fast reader")
struct SpecDocumentFastReaderTests {
    @Test func test_fastRead_generatedAndMutatedDocuments_giveLibyamlsTree_orDecline() {
        let texts = SpecFuzzTests.mutatedSpecs(seed: 2_026_12_07, count: 8_000, mutationCycle: 3, Self.document)
        let accepted = SpecDocumentPartsTests.agreeing(texts) { round, text in
            // Every other document as a part of a larger one: its lines counted from 40, one level down.
            Self.outcome(text, at: round.isMultiple(of: 2) ? .documentStart : SpecDocumentReader.Origin(lineOffset: 40, depth: 1))
        }
        #expect(accepted > 2_000, "the generated documents should mostly be in the subset")
    }

    @Test(arguments: [
        // The benchmark's layout: a flow mapping a task.
        "name: b\ntasks:\n  l000_000: {command: [\"true\"]}\n  l001_000: {command: [\"true\"], needs: [l000_000, l000_001]}\n",
        // examples/pipelines' layout: block mappings, flow values, templates, comments.
        """
        # A pipeline.
        name: daily-incremental
        schedule: "0 2 * * *"
        params:
          source: {type: string}
          production_model: {type: string}   # a comment after a value
          epochs: {type: int, default: 2}
        concurrency: 2
        tasks:
          extract_new:
            uses: doris.extract
            with: {source: "{{ params.source }}", start: "{{ run.logical_time - 1d }}"}
            retries: {count: 2, backoff: 30s}

          update:
            needs: [extract_new]
            resources: {cpu: 2, memory: 4Gi}
            with:
              parent_model: '{{ params.production_model }}'
              distillation: true
        """,
        // Block sequences, indented and at their key's indentation; plain scalars with
        // indicators inside them; escapes and doubled quotes.
        """
        tasks:
          train:
            command:
              - python
              - -m
              - trainplat.train --date={{ run.logical_time }} a#b [x] {y}
            image: python:3.11-slim
            mounts:
            - data
            - "quoted \\"escaped\\" \\\\ \\/ \\t"
            with: {note: 'it''s', empty: "", list: [], map: {}}
        """,
    ])
    func test_fastRead_commonLayouts_areAccepted_withLibyamlsTree(text: String) {
        #expect(Self.outcome(text, at: .documentStart) == .agrees)
    }

    @Test(arguments: [
        "a: &x 1\nb: *x\n",  // an anchor and an alias
        "a: !!str 3\n",  // a tag
        "a: |\n  block\n",  // a block scalar
        "a: >-\n  folded\n",
        "a: plain\n  goes on\n",  // a plain scalar over two lines
        "a: plain\n\n  goes on after a blank line\n",
        "a: [x,\n  y]\n",  // a flow collection over two lines
        "a: [x, y,]\n",  // a comma before the bracket
        "a:\nb: 1\n",  // an empty value
        "a: {b: }\n",
        "a: \"x\\u0041\"\n",  // an escape outside the few read here
        "a: 1\na: 2\n",  // a duplicate key
        "a: {b: 1, b: 2}\n",
        "a:\tb\n",  // a tab
        "a: b\r\n",  // a carriage return
        "a: é\n",  // a byte past ASCII
        "? a\n: b\n",  // an explicit key
        "%YAML 1.1\n---\na: b\n",  // a directive and a document marker
        "---\na: b\n",
        "a:\n  - b: c\n",  // a mapping inside a block sequence's entry
        "a:\n  -\n    b\n",
        "\"a\": b\n",  // a quoted block key
        "a: b: c\n",  // `: ` inside a plain scalar
        "a: [b:c]\n",  // `:` in a flow scalar
        "a: {\"b\":1}\n",  // a JSON-style `:` without a space
        "- a\n- b\n",  // a sequence at the root
        "a: b\n  c: d\n",  // a line indented under a scalar value
    ])
    func test_fastRead_outsideTheSubset_declines_andLibyamlReadsIt(text: String) {
        #expect(Self.fastRead(text, at: .documentStart) == nil)
        // What the whole read answers is libyaml's, problems included.
        #expect(Self.readsAlike(text))
    }

    @Test func test_fastRead_nestingPastItsLimit_isLeftToLibyaml() {
        let deep = String(repeating: "[", count: 70) + "x" + String(repeating: "]", count: 70)
        #expect(Self.fastRead("a: \(deep)\n", at: .documentStart) == nil)
        #expect(Self.fastRead("a: [[[x]]]\n", at: .documentStart) != nil)
    }

    // MARK: - Helpers

    static func fastRead(_ text: String, at origin: SpecDocumentReader.Origin) -> SpecDocumentReader.Reading? {
        Array(text.utf8).withUnsafeBufferPointer { SpecDocumentFastReader.read($0, at: origin) }
    }

    static func outcome(_ text: String, at origin: SpecDocumentReader.Origin) -> SpecDocumentPartsTests.Outcome {
        Array(text.utf8).withUnsafeBufferPointer { input in
            guard let fast = SpecDocumentFastReader.read(input, at: origin) else { return .declined }
            switch SpecDocumentReader.readWithLibyaml(input, at: origin) {
            case .failure(let problems):
                return .differs("read fast, but libyaml refuses it: \(problems.all.map(\.message))")
            case .success(let reference):
                guard let root = reference.root, let fastRoot = fast.root else { return .differs("libyaml reads no document") }
                if let why = SpecDocumentPartsTests.difference(fastRoot, root, at: "") { return .differs(why) }
                guard fast.height == reference.height, fast.rootIsBlockMapping == reference.rootIsBlockMapping, !reference.usesAnchors else {
                    return .differs("height \(fast.height) vs \(reference.height), block root \(fast.rootIsBlockMapping) vs \(reference.rootIsBlockMapping)")
                }
                return .agrees
            }
        }
    }

    /// Whether the whole read (fast where it can) and libyaml's give the same tree or the
    /// same problems.
    static func readsAlike(_ text: String) -> Bool {
        let whole = Result { () throws(SpecDocumentReader.Problems) in try SpecDocumentReader.read(text) }
        let reference = Array(text.utf8).withUnsafeBufferPointer { SpecDocumentReader.readWithLibyaml($0, at: .documentStart) }
        switch (whole, reference) {
        case (.success(let tree?), .success(let reading)):
            return reading.root.map { SpecDocumentPartsTests.difference(tree, $0, at: "") == nil } ?? false
        case (.success(nil), .success(let reading)): return reading.root == nil
        case (.failure(let a), .failure(let b)): return a.all.map(\.message) == b.all.map(\.message) && a.all.map(\.position) == b.all.map(\.position)
        default: return false
        }
    }

    /// A random document of block mappings and sequences holding scalars and flow
    /// collections, with values, keys and spacing on both sides of the subset's edges.
    static func document(_ random: inout SpecFuzzTests.Generator) -> String {
        var lines: [String] = []
        appendMapping(to: &lines, indent: Int.random(in: 0..<4, using: &random) == 0 ? 2 : 0, depth: 0, &random)
        return lines.joined(separator: "\n") + (Int.random(in: 0..<5, using: &random) == 0 ? "" : "\n")
    }

    /// Whether to draw a key, scalar or layout at or past the subset's edges: rarely enough that
    /// about half of the unmutated documents are in the subset.
    private static func atTheEdge(_ random: inout SpecFuzzTests.Generator) -> Bool {
        Int.random(in: 0..<30, using: &random) == 0
    }

    /// Keys and scalars in the subset, and at or past its edges.
    private static let keys = ["name", "tasks", "a.b", "x-y", "p/q", "_k", "1", "true"]
    private static let edgeKeys = ["a b", "\"q\"", "'s'", "~", "-k", ".k"]
    private static let scalars = [
        "x", "a b", "python:3.11", "-1", "--flag", "a#b", "x # note", "~", "yes", "0x1F", "1_000", ".NaN", "2026-12-07",
        "{{ params.x }}", "--d={{ run.logical_time - 1d }}", "a,b", "a]", "a}", "a  ", "\"d q\"", "\"e\\\"s\\\\c\\n\\t\\/\"",
        "'it''s'", "''", "\"\"", "a:b", "s3://bucket/key",
    ]
    private static let edgeScalars = [
        "-", "- x", "a: b", "b:", "&x", "*x", "!t", "%p", "@a", "`b`", "|", ">", "?q", ":c", "\"\\u0041\"", "'open", "\"open", "#c",
    ]

    private static func key(_ index: Int, _ random: inout SpecFuzzTests.Generator) -> String {
        if atTheEdge(&random) { return edgeKeys.randomElement(using: &random) ?? "k" }
        return Bool.random(using: &random) ? keys.randomElement(using: &random) ?? "k" : "k\(index)"
    }

    /// Plain scalars that a flow collection would end or cut short are at its edges there.
    private static let flowScalars = scalars.filter { $0.first == "\"" || $0.first == "'" || !$0.contains(where: ",[]{}:#".contains) }

    private static func scalar(inFlow: Bool, _ random: inout SpecFuzzTests.Generator) -> String {
        let inSubset = inFlow ? flowScalars : scalars
        return (atTheEdge(&random) ? scalars + edgeScalars : inSubset).randomElement(using: &random) ?? "x"
    }

    private static func appendMapping(to lines: inout [String], indent: Int, depth: Int, _ random: inout SpecFuzzTests.Generator) {
        let pad = String(repeating: " ", count: indent)
        for index in 0..<Int.random(in: 1...4, using: &random) {
            switch Int.random(in: 0..<8, using: &random) {
            case 0: lines.append("")
            case 1: lines.append(String(repeating: " ", count: Int.random(in: 0...6, using: &random)) + "# comment")
            default: break
            }
            let key = key(index, &random)
            let colon = atTheEdge(&random) ? ":" : [": ", ":  "].randomElement(using: &random) ?? ": "
            switch atTheEdge(&random) ? 19 : Int.random(in: 0..<19, using: &random) {
            case 0..<12:
                lines.append(pad + key + colon + inlineValue(depth: 0, &random) + (Bool.random(using: &random) ? "" : "  # note"))
            case 12..<16 where depth < 4:
                lines.append(pad + key + ":" + (Bool.random(using: &random) ? "" : " # note"))
                appendMapping(to: &lines, indent: indent + Int.random(in: 1...3, using: &random), depth: depth + 1, &random)
            case 16..<19 where depth < 4:
                lines.append(pad + key + ":")
                appendSequence(to: &lines, indent: indent + Int.random(in: 0...2, using: &random), &random)
            default:
                lines.append(pad + key + ":")
                if Bool.random(using: &random) { lines.append(pad + String(repeating: " ", count: Int.random(in: 0...3, using: &random)) + "more") }
            }
        }
    }

    private static func appendSequence(to lines: inout [String], indent: Int, _ random: inout SpecFuzzTests.Generator) {
        let pad = String(repeating: " ", count: indent)
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let entry = atTheEdge(&random) ? "-" : ["- ", "-  "].randomElement(using: &random) ?? "- "
            lines.append(pad + entry + inlineValue(depth: 0, &random))
        }
    }

    private static func inlineValue(depth: Int, _ random: inout SpecFuzzTests.Generator) -> String {
        let gap = [", ", ",", " , ", ",  "].randomElement(using: &random) ?? ", "
        switch Int.random(in: 0..<6, using: &random) {
        case 0 where depth < 3:
            let items = (0..<Int.random(in: 0...3, using: &random)).map { _ in inlineValue(depth: depth + 1, &random) }
            return "[" + items.joined(separator: gap) + "]"
        case 1 where depth < 3:
            let pairs = (0..<Int.random(in: 0...3, using: &random)).map { index in
                key(index, &random) + (atTheEdge(&random) ? [":", " : "].randomElement(using: &random) ?? ":" : ": ")
                    + inlineValue(depth: depth + 1, &random)
            }
            return "{" + pairs.joined(separator: gap) + "}"
        default:
            return scalar(inFlow: depth > 0, &random)
        }
    }
}
