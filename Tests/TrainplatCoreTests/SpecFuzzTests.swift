import Foundation
import Testing
import TrainplatCore

/// Property-based checks of the spec parser over generated specs, with a fixed seed so a
/// failure reproduces: every generated valid spec round-trips through its canonical form,
/// and no mutation of a valid spec crashes the parser or yields an issue without a message.
@Suite("Pipeline spec parser, property-based")
struct SpecFuzzTests {
    static let programs: Set<String> = ["doris.extract", "learning.train"]

    /// SplitMix64: small, seedable, good enough to drive generators.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// A random valid spec: tasks only need earlier tasks, so the graph is acyclic.
    static func validSpec(_ random: inout Generator) -> String {
        let count = Int.random(in: 1...25, using: &random)
        var lines = ["name: fuzz-\(Int.random(in: 0...999, using: &random))", "params:", "  day: {type: string, default: \"2026-01-01\"}", "tasks:"]
        for index in 0..<count {
            var fields: [String] = []
            if Bool.random(using: &random) {
                fields.append("uses: \(["doris.extract", "learning.train"].randomElement(using: &random) ?? "learning.train")")
                fields.append("with: {day: \"{{ params.day }}\", n: \(Int.random(in: 0...100, using: &random))}")
            } else {
                fields.append("command: [echo, \"t\(index)\"]")
            }
            let needs = (0..<index).filter { _ in Int.random(in: 0..<4, using: &random) == 0 }.map { "t\($0)" }
            if !needs.isEmpty { fields.append("needs: [\(needs.joined(separator: ", "))]") }
            if Bool.random(using: &random) { fields.append("retries: \(Int.random(in: 0...5, using: &random))") }
            if Bool.random(using: &random) { fields.append("timeout: \(Int.random(in: 1...90, using: &random))m") }
            if Bool.random(using: &random) { fields.append("cache: true") }
            if Int.random(in: 0..<5, using: &random) == 0 { fields.append("when: all_done") }
            if Int.random(in: 0..<5, using: &random) == 0 { fields.append("mounts: \"ws(pvc):/mnt/ws, 1Gi(memory):/dev/shm\"") }
            if Int.random(in: 0..<5, using: &random) == 0 { fields.append("resources: {cpu: 500m, memory: 2Gi}") }
            lines.append("  t\(index): {\(fields.joined(separator: ", "))}")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func test_generatedSpecs_parse_andRoundTripThroughTheirCanonicalForm() throws {
        var random = Generator(state: 20_261_129)
        for _ in 0..<300 {
            // setup
            let text = Self.validSpec(&random)
            // act
            let spec = try SpecParser.parse(text, knownPrograms: Self.programs)
            let again = try SpecParser.parse(spec.canonicalJSON(), knownPrograms: Self.programs)
            // check
            #expect(again.canonicalJSON() == spec.canonicalJSON(), "round trip changed:\n\(text)")
            let order = try #require(DAG(spec).topologicalOrder())
            for task in spec.tasks {
                let position = order.firstIndex(of: task.name) ?? -1
                #expect(task.needs.allSatisfy { (order.firstIndex(of: $0) ?? Int.max) < position }, "order breaks needs:\n\(text)")
            }
        }
    }

    /// Deletions, insertions of hostile characters, duplicated and swapped lines, truncation.
    /// `count` specs from `generate`, the n-th mutated `n % mutationCycle` times, from `seed`.
    static func mutatedSpecs(seed: UInt64, count: Int, mutationCycle: Int, _ generate: (inout Generator) -> String) -> [String] {
        var random = Generator(state: seed)
        return (0..<count).map { round in
            var text = generate(&random)
            for _ in 0..<(round % mutationCycle) { text = mutate(text, &random) }
            return text
        }
    }

    static func mutate(_ text: String, _ random: inout Generator) -> String {
        var characters = Array(text)
        var lines = text.components(separatedBy: "\n")
        let hostile: [Character] = ["{", "}", "[", "]", ":", "\"", "'", "\t", "\u{0}", "\u{202E}", "é", "&", "*", "!", "%", "#", "|", ">", "-", "\n"]
        switch Int.random(in: 0..<5, using: &random) {
        case 0 where !characters.isEmpty:
            characters.remove(at: Int.random(in: 0..<characters.count, using: &random))
            return String(characters)
        case 1:
            characters.insert(hostile.randomElement(using: &random) ?? "{", at: Int.random(in: 0...characters.count, using: &random))
            return String(characters)
        case 2 where !lines.isEmpty:
            let index = Int.random(in: 0..<lines.count, using: &random)
            lines.insert(lines[index], at: index)
            return lines.joined(separator: "\n")
        case 3 where lines.count > 1:
            lines.swapAt(Int.random(in: 0..<lines.count, using: &random), Int.random(in: 0..<lines.count, using: &random))
            return lines.joined(separator: "\n")
        default:
            return String(characters.prefix(Int.random(in: 0...characters.count, using: &random)))
        }
    }

    @Test func test_mutatedSpecs_neverCrash_andEveryRejectionSaysWhy() {
        var random = Generator(state: 7)
        var rejected = 0
        for _ in 0..<600 {
            // setup: a valid spec with one to three mutations
            var text = Self.validSpec(&random)
            for _ in 0..<Int.random(in: 1...3, using: &random) { text = Self.mutate(text, &random) }
            // act / check
            do {
                let spec = try SpecParser.parse(text, knownPrograms: Self.programs)
                #expect(DAG(spec).findCycle() == nil, "an accepted spec has a cycle:\n\(text)")
            } catch {
                rejected += 1
                #expect(!error.issues.isEmpty, "rejected without an issue:\n\(text)")
                #expect(error.issues.allSatisfy { !$0.message.isEmpty }, "an issue without a message:\n\(text)")
            }
        }
        #expect(rejected > 100, "the mutations should break a good share of specs; only \(rejected) were rejected")
    }

    @Test func test_aBackEdge_isAlwaysACycleTheParserNames() throws {
        var random = Generator(state: 99)
        for _ in 0..<100 {
            // setup: a chain t0 <- t1 <- ... <- tn, then t0 needs the last one
            let count = Int.random(in: 2...20, using: &random)
            var lines = ["name: cyc", "tasks:", "  t0: {command: [x], needs: [t\(count - 1)]}"]
            for index in 1..<count { lines.append("  t\(index): {command: [x], needs: [t\(index - 1)]}") }
            // act / check
            #expect {
                _ = try SpecParser.parse(lines.joined(separator: "\n"), knownPrograms: [])
            } throws: { error in
                (error as? SpecValidationError)?.issues.contains { $0.message.contains("cycle") } == true
            }
        }
    }
}
