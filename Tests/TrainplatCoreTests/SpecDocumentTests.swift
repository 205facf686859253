import Foundation
import Testing
import Yams

@testable import TrainplatCore

/// The spec's own YAML composer against Yams' composer (which it replaced for speed): the
/// same documents are accepted, with the same scalars, styles, typed values and positions.
@Suite("Spec document composer")
struct SpecDocumentTests {
    @Test func test_read_generatedAndMutatedSpecs_agreeWithYamsComposer() {
        var compared = 0
        for text in SpecFuzzTests.mutatedSpecs(seed: 2_026_12_06, count: 800, mutationCycle: 4, SpecFuzzTests.validSpec) {
            let yams = Result { try Yams.compose(yaml: text, .basic) }
            do {
                let ours = try SpecDocumentReader.read(text)
                switch (ours, yams) {
                case (let ours?, .success(let yams?)):
                    #expect(Self.mismatch(ours, yams, at: "") == nil, "\(Self.mismatch(ours, yams, at: "") ?? "")\n\(text)")
                    compared += 1
                case (nil, .success(nil)): break
                default: Issue.record("we read \(String(describing: ours)), Yams \(yams):\n\(text)")
                }
            } catch {
                #expect((try? yams.get()) == nil, "we reject what Yams accepts (\(error.all.map(\.message))):\n\(text)")
                #expect(error.all.allSatisfy { $0.position != nil })
            }
        }
        #expect(compared > 300)
    }

    @Test func test_read_anchorsTagsAndBlockScalars_agreeWithYamsComposer() throws {
        let text = """
            name: anchors
            defaults: &args {epochs: 3, rate: 0.5, on: yes, hex: 0x1F, sexagesimal: 1:30, octal: 012, big: 1_000}
            tasks:
              a: {uses: learning.train, with: *args}
              b:
                command:
                  - !!str 3
                  - 'single'
                  - "double\\ttab"
                  - |
                    literal
                    block
                  - >
                    folded
                    text
                with: {text: !!str true, nothing: ~, empty: , nan: .NaN, inf: -.inf}
            """
        let ours = try #require(try SpecDocumentReader.read(text))
        let yams = try #require(try Yams.compose(yaml: text, .basic))
        #expect(Self.mismatch(ours, yams, at: "") == nil, "\(Self.mismatch(ours, yams, at: "") ?? "")")
    }

    @Test func test_read_duplicateKeys_areAllReportedWithBothPositions() {
        let text = "name: a\ntasks:\n  t: {command: [x]}\n  u: {command: [x], command: [y]}\n  t: {command: [z]}\n"
        let problems = Self.problems(text)
        #expect(problems.map(\.message) == [
            "duplicate key 'command': it appears again at line 4, column 21",
            "duplicate key 't': it appears again at line 5, column 3",
        ])
        #expect(problems.map(\.position) == [SpecNode.Position(line: 4, column: 7), SpecNode.Position(line: 3, column: 3)])
    }

    /// A mapping past 16 keys looks keys up in a dictionary instead of scanning the pairs:
    /// a key seen before the switch is still reported at its first position after it.
    @Test func test_read_duplicateKeys_inALargeMapping_keepTheirFirstPosition() {
        let names = (0..<10).map { "t\($0)" } + ["t3"] + (10..<30).map { "t\($0)" } + ["t3", "t25"]
        let text = "tasks:\n" + names.map { "  \($0): x\n" }.joined()
        // Line 1 is `tasks:`; the names start on line 2.
        let lineOf = { (index: Int) in index + 2 }
        let problems = Self.problems(text)
        #expect(problems.map(\.message) == [
            "duplicate key 't3': it appears again at line \(lineOf(10)), column 3",
            "duplicate key 't3': it appears again at line \(lineOf(31)), column 3",
            "duplicate key 't25': it appears again at line \(lineOf(32)), column 3",
        ])
        #expect(problems.map(\.position) == [lineOf(3), lineOf(3), lineOf(26)].map { SpecNode.Position(line: $0, column: 3) })
    }

    @Test func test_read_aliasBomb_isRefusedBeforeItExpands() {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for level in 1...9 { lines.append("a\(level): &a\(level) [\(Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", "))]") }
        let problems = Self.problems(lines.joined(separator: "\n"))
        #expect(problems.first?.message == "aliases expand to more than \(SpecDocumentReader.maxExpandedNodes) values")
        #expect(problems.first?.position?.line == 6)
    }

    @Test func test_read_deepNesting_isRefusedNotAStackOverflow() {
        let depth = 100_000
        let problem = Self.problems(String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).first
        // libyaml stops at its own nesting limit, which the reader's equals.
        #expect(problem?.message.contains("Maximum nesting level reached") == true, "\(String(describing: problem))")
        #expect(problem?.position != nil)
    }

    @Test func test_read_aliasNestedPastTheDepthLimit_isRefused_whereItStands() {
        // Each half is nested well within the limit; the alias puts one inside the other.
        let half = 600
        let text = "a: &deep " + String(repeating: "[", count: half) + "x" + String(repeating: "]", count: half)
            + "\nb: " + String(repeating: "[", count: half) + "*deep" + String(repeating: "]", count: half) + "\n"
        let problems = Self.problems(text)
        #expect(problems.map(\.message) == ["spec nests deeper than \(SpecDocumentReader.maxDepth) levels (counting what its aliases stand for)"])
        #expect(problems.first?.position == SpecNode.Position(line: 2, column: 4 + half))
        let shallow = "a: &deep [[x]]\nb: [[*deep]]\n"
        #expect(Self.problems(shallow).isEmpty)
    }

    @Test func test_read_badBytes_areLocatedByTheirOffset() {
        let problem = Self.problems("name: x\ntasks: \u{1}\n").first
        #expect(problem?.message.hasPrefix("not valid YAML/JSON: ") == true)
        #expect(problem?.position == SpecNode.Position(line: 2, column: 8))
    }

    @Test(arguments: [
        ("a: *nowhere", "alias '*nowhere' names no anchor defined before it"),
        ("a: 1\n---\nb: 2", "expected one document, found another"),
        ("a: [1, 2", "not valid YAML/JSON: "),
        ("a: \u{0}", "not valid YAML/JSON: "),
    ])
    func test_read_brokenDocuments_sayWhatAndWhere(text: String, expected: String) {
        let problems = Self.problems(text)
        #expect(problems.count == 1)
        #expect(problems.first?.message.contains(expected) == true, "\(problems.map(\.message))")
        #expect(problems.first?.position != nil)
    }

    @Test func test_read_emptyOrCommentOnlyText_isNoDocument() throws {
        #expect(try SpecDocumentReader.read("") == nil)
        #expect(try SpecDocumentReader.read("# nothing here\n") == nil)
    }

    private static func problems(_ text: String) -> [SpecDocumentReader.Problem] {
        do {
            _ = try SpecDocumentReader.read(text)
            return []
        } catch {
            return error.all
        }
    }

    /// The first difference between the two trees, or nil. Keys are compared as text: Yams'
    /// duplicate check resolves each key's tag as a side effect (after it, `on` as a key no
    /// longer reads as true), and the spec parser reads keys only as text.
    private static func mismatch(_ ours: SpecNode, _ yams: Node, at path: String, isKey: Bool = false) -> String? {
        if ours.position.line != yams.mark?.line || ours.position.column != yams.mark?.column {
            return "\(path): position \(ours.position) vs \(String(describing: yams.mark))"
        }
        switch (ours, yams) {
        case (.scalar(let scalar), .scalar(let expected)):
            let typed = scalar.yamsNode
            if isKey { return scalar.text == expected.string && scalar.style == expected.style ? nil : "\(path): key '\(scalar.text)'" }
            let same = scalar.text == expected.string && scalar.style == expected.style && typed.int == yams.int
                && typed.bool == yams.bool && (typed.null == nil) == (yams.null == nil)
                && (typed.float == yams.float || (typed.float?.isNaN == true && yams.float?.isNaN == true))
            return same ? nil : "\(path): scalar '\(scalar.text)' types or styles differently from Yams' '\(expected.string)'"
        case (.sequence(let items, _), .sequence(let expected)):
            guard items.count == expected.count else { return "\(path): \(items.count) items vs \(expected.count)" }
            return zip(items, expected).enumerated().lazy.compactMap { mismatch($0.element.0, $0.element.1, at: "\(path)[\($0.offset)]") }.first
        case (.mapping(let pairs, _), .mapping(let expected)):
            guard pairs.count == expected.count else { return "\(path): \(pairs.count) keys vs \(expected.count)" }
            return zip(pairs, expected).lazy.compactMap {
                mismatch($0.0.key, $0.1.key, at: "\(path).key", isKey: true) ?? mismatch($0.0.value, $0.1.value, at: "\(path).\($0.0.key.string ?? "?")")
            }.first
        default:
            return "\(path): \(ours) vs \(yams)"
        }
    }
}
