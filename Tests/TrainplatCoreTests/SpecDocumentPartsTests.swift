import Testing

@testable import TrainplatCore

/// Reading a spec's `tasks:` block in parts must give exactly the tree that reading the
/// whole text gives (every scalar, style, tag and position), or decline so that the whole
/// text is read; it must never accept what reading in one go refuses.
@Suite("Spec document read in parts")
struct SpecDocumentPartsTests {
    @Test func test_readInParts_generatedAndMutatedSpecs_giveTheTreeOfOneRead_orDecline() {
        let texts = SpecFuzzTests.mutatedSpecs(seed: 2_026_12_07, count: 1_500, mutationCycle: 3, Self.blockSpec)
        let joined = Self.agreeing(texts) { round, text in Self.outcome(text, parts: 2 + round % 3) }
        #expect(joined > 400, "the generated specs should mostly be read in parts")
    }

    @Test(arguments: [
        "name: a\ntasks:\n  a: {command: [x]}\n  b: {command: [y]}\n  c: {command: [z]}\n",
        "name: a\ntasks:  # the tasks\n  a:\n    command:\n      - sh\n      - |\n        echo a\n        b: not a key\n  b: {command: [y]}\n\n# at column 1\n  c: {command: [z]}\nparams: {day: {type: string}}\n",
        "name: a\r\ntasks:\r\n  a: {command: [x]}\r\n  b: {command: [y]}\r\n",
        "name: a\ntasks:\n  a: {command: [x]}\n  b: {command: [y]}",
    ])
    func test_readInParts_wellFormedBlocks_areJoined(text: String) {
        let outcome = Self.outcome(text, parts: 3)
        #expect(outcome == .agrees, "\(outcome)")
    }

    /// Documents where a cut would change the meaning or hide a problem: each is declined, or
    /// (where reading in one go accepts it) gives the same tree.
    @Test(arguments: [
        // A quoted scalar and a flow collection run on over lines that look like entries.
        "name: a\ntasks:\n  a: {command: [\"x\n  b: y\"]}\n  c: {command: [z]}\n",
        "name: a\ntasks:\n  a: {command: [x,\n  b: y]}\n  c: {command: [z]}\n",
        // The root is a flow mapping, so `tasks:` and its lines are inside braces.
        "{name: a,\ntasks:\n  a: {command: [x]}\n  b: {command: [y]}\n}\n",
        // A quoted scalar before the block runs on through it.
        "name: a\ndescription: \"x\ntasks:\n  a: {command: [x]}\n  b: {command: [y]}\nend\"\ntasks:\n  c: {command: [z]}\n",
        // The same, where the real `tasks` key (written `tasks :`) has no value.
        "name: a\ntasks :\ndescription: \"x\ntasks:\n  a: {command: [x]}\n  b: {command: [y]}\ny\"\n",
        // The last entry runs on past the block.
        "name: a\ntasks:\n  a: {command: [x]}\n  b: {command: [\"y\nparams: z\"]}\n",
        // %TAG could change what !!str means in a part read alone.
        "%TAG !! tag:example.com,2026:\n---\nname: a\ntasks:\n  a: {command: [!!str x]}\n  b: {command: [!!str y]}\n",
        // Anchors: parts cannot see each other's.
        "name: a\ntasks:\n  a: &x {command: [x]}\n  b: *x\n  c: {command: [z]}\n",
        // A name in two parts: each part alone sees no duplicate.
        "name: a\ntasks:\n  a: {command: [x]}\n  b: {command: [y]}\n  a: {command: [z]}\n",
        // An entry indented less than the block's.
        "name: a\ntasks:\n  a: {command: [x]}\n b: {command: [y]}\n  c: {command: [z]}\n",
        // Something at column 1 after the block that would be the value of `tasks:` in the frame.
        "name: a\ntasks:\n  a: {command: [x]}\n  b: {command: [y]}\n- x\n",
        // A block scalar at column 1 after the block, which the frame alone reads as the
        // value of `tasks`.
        "name: a\ntasks:\n  a: {command: [x]}\n  b: {command: [y]}\n|\n  dropped\nparams: {}\n",
        "name: a\ntasks:\n  a: {command: [x]}\n  b: {command: [y]}\n>-\n  dropped\n",
        // Line breaks that libyaml counts and the cut lines do not: a lone CR, NEL, LS, PS.
        "name: a\ntasks:\n  a: {command: [x]}  # note\r  b: {command: [y]}\n  c: {command: [z]}\nend: 1\n",
        "name: a\ntasks:\n  a: {command: [x]}  # note\u{85}\n  b: {command: [y]}\n  c: {command: [z]}\nend: 1\n",
        "name: a\ntasks:\n  a: {command: [x]}  # note\u{2028}\n  b: {command: [y]}\n  c: {command: [z]}\nend: 1\n",
        "name: a\ntasks:\n  a: {command: [x]}  # note\u{2029}\n  b: {command: [y]}\n  c: {command: [z]}\nend: 1\n",
        // An explicit key without a value, whose empty value takes the next entry's position.
        "name: a\ntasks:\n  a: {command: [x]}\n  ? b\n  c: {command: [z]}\n",
        // Tabs where the indentation is.
        "name: a\ntasks:\n  a: {command: [x]}\n\tb: {command: [y]}\n  c: {command: [z]}\n",
        "name: a\ntasks:\n  a: {command: [x]}\n  \tb: {command: [y]}\n  c: {command: [z]}\n",
    ])
    func test_readInParts_cutsThatWouldChangeTheDocument_areDeclined(text: String) {
        for parts in 2...4 {
            let outcome = Self.outcome(text, parts: parts)
            #expect(outcome != .agrees || Self.readsWhole(text), "\(parts) parts")
            if case .differs(let why) = outcome { Issue.record("\(parts) parts: \(why)") }
        }
    }

    /// libyaml counts one nesting level fewer for a part read alone than for the same lines
    /// in the whole document, so parts that nest near the limit are read in one go.
    @Test func test_readInParts_aPartNestedNearTheLimit_isLeftToTheWholeRead() {
        let deep = String(repeating: "[", count: 995) + "x" + String(repeating: "]", count: 995)
        let text = "name: a\ntasks:\n  a: {command: [x]}\n  b: {command: \(deep)}\n  c: {command: [z]}\n"
        #expect(Self.outcome(text, parts: 3) == .declined)
        #expect(Self.readsWhole(text), "within the limit for the whole read")
        #expect(Self.outcome(text.replacingOccurrences(of: deep, with: "[y]"), parts: 3) == .agrees)
    }

    @Test func test_readInParts_aNameInTwoParts_isLeftToTheWholeRead_whichReportsIt() {
        let text = "name: a\ntasks:\n  a: {command: [x]}\n  b: {command: [y]}\n  a: {command: [z]}\n"
        #expect(Self.outcome(text, parts: 3) == .declined)
        #expect(throws: SpecDocumentReader.Problems.self) { try SpecDocumentReader.read(text) }
    }

    /// Anchors are read in one go even where each part could resolve its own: the limit on
    /// what aliases expand to holds for the whole document, not for each part.
    @Test func test_readInParts_aliasesExpandingPastTheLimitOnlyTogether_areRefused() {
        func task(_ name: String, prefix: String) -> String {
            var levels = ["\(prefix)0: &\(prefix)0 [x, x, x, x, x, x, x, x, x, x]"]
            for level in 1...4 { levels.append("\(prefix)\(level): &\(prefix)\(level) [\(Array(repeating: "*\(prefix)\(level - 1)", count: 10).joined(separator: ", "))]") }
            levels.append("\(prefix)5: [\(Array(repeating: "*\(prefix)4", count: 5).joined(separator: ", "))]")
            return "  \(name): {command: [x], with: {\(levels.joined(separator: ", "))}}"
        }
        let text = ["name: a", "tasks:", task("a", prefix: "b"), "  b: {command: [y]}", task("c", prefix: "c")].joined(separator: "\n") + "\n"
        #expect(Self.outcome(text, parts: 3) == .declined)
        #expect(!Self.readsWhole(text), "each task alone stays under the limit, both together do not")
    }

    // MARK: - Helpers

    /// A faster way of reading a text against libyaml's read of it in one go: the same tree,
    /// declined, or a difference.
    enum Outcome: Equatable {
        case agrees, declined
        case differs(String)
    }

    /// How many of `texts` a faster read gave libyaml's tree for; records each difference.
    static func agreeing(_ texts: [String], _ outcome: (_ round: Int, _ text: String) -> Outcome) -> Int {
        var agreed = 0
        for (round, text) in texts.enumerated() {
            switch outcome(round, text) {
            case .agrees: agreed += 1
            case .declined: break
            case .differs(let why): Issue.record("\(why):\n\(text)")
            }
        }
        return agreed
    }

    /// Reads `text` in parts (every part as small as the cuts allow) and in one go.
    static func outcome(_ text: String, parts: Int) -> Outcome {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { input in
            guard let inParts = SpecDocumentParts.read(input, parts: parts, minPartBytes: 1) else { return .declined }
            switch SpecDocumentReader.readWithLibyaml(input, at: .documentStart) {
            case .failure(let problems):
                return .differs("read in parts, but reading in one go refuses it: \(problems.all.map(\.message))")
            case .success(let whole):
                guard let root = whole.root else { return .differs("read in parts, but there is no document") }
                return difference(inParts, root, at: "").map { .differs($0) } ?? .agrees
            }
        }
    }

    static func readsWhole(_ text: String) -> Bool {
        Array(text.utf8).withUnsafeBufferPointer { (try? SpecDocumentReader.readWithLibyaml($0, at: .documentStart).get()) != nil }
    }

    /// Where two trees differ, nil when they do not.
    static func difference(_ left: SpecNode, _ right: SpecNode, at path: String) -> String? {
        switch (left, right) {
        case (.scalar(let a), .scalar(let b)):
            let same = a.text == b.text && a.style == b.style && a.tag == b.tag && a.position == b.position
            return same ? nil : "\(path): \(a) vs \(b)"
        case (.sequence(let a, let at), .sequence(let b, let bt)):
            guard a.count == b.count, at == bt else { return "\(path): \(a.count) items at \(at) vs \(b.count) at \(bt)" }
            return zip(a, b).enumerated().lazy.compactMap { difference($0.element.0, $0.element.1, at: "\(path)[\($0.offset)]") }.first
        case (.mapping(let a, let at), .mapping(let b, let bt)):
            guard a.count == b.count, at == bt else { return "\(path): \(a.count) pairs at \(at) vs \(b.count) at \(bt)" }
            return zip(a, b).lazy.compactMap {
                difference($0.0.key, $0.1.key, at: "\(path).key") ?? difference($0.0.value, $0.1.value, at: "\(path).\($0.0.key.string ?? "?")")
            }.first
        default:
            return "\(path): \(left) vs \(right)"
        }
    }

    /// A spec whose tasks use every layout a cut must respect: flow and block entries,
    /// collections and quoted scalars over several lines (some with a line that looks like an
    /// entry), block scalars, blank lines and comments at column 1.
    static func blockSpec(_ random: inout SpecFuzzTests.Generator) -> String {
        var lines = ["name: parts-\(Int.random(in: 0...999, using: &random))"]
        if Bool.random(using: &random) { lines.append("description: \"before the tasks\"") }
        lines.append(Bool.random(using: &random) ? "tasks:" : "tasks:  # the tasks")
        for index in 0..<Int.random(in: 2...30, using: &random) {
            let name = "t\(index)"
            switch Int.random(in: 0..<6, using: &random) {
            case 0: lines.append("  \(name): {command: [echo, \"\(index)\"]}")
            case 1: lines += ["  \(name):", "    command:", "      - sh", "      - -c", "      - echo \(index)"]
            case 2: lines += ["  \(name): {command: [echo,", "      \"\(index)\"], retries: 2}"]
            case 3: lines += ["  \(name): {command: [echo, \"first", "  \(name)x: second\"]}"]
            case 4: lines += ["  \(name):", "    command: [sh]", "    with:", "      script: |", "        echo \(index)", "        \(name)y: not a key"]
            default: lines += ["", "# a comment at column 1", "  \(name): {uses: learning.train}"]
            }
        }
        if Bool.random(using: &random) { lines.append("params: {day: {type: string}}") }
        return lines.joined(separator: "\n") + "\n"
    }
}
