import Foundation
import Testing
import TrainplatCore

/// Content hashes of stored versions depend on every byte of the canonical JSON, so its
/// hand-written writer is held to what `JSONEncoder` (sorted keys, unescaped slashes) writes.
@Suite("Canonical JSON")
struct CanonicalJSONTests {
    static func encoderJSON(_ value: JSONValue) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test func test_canonicalJSON_awkwardKeysAndEveryControlCharacter_matchTheEncoder() throws {
        // setup: keys whose order differs between byte, numeric and case-insensitive sorts
        let keys = ["t10", "t9", "t09", "B", "a", "é", "e", "a_b", "aB", "ab", "10", "9", "", " ", "ä", "ab01", "ab1", "😀", "ﬁ"]
        let controls = String(String.UnicodeScalarView((0..<0x20).compactMap(Unicode.Scalar.init)))
        let text = controls + "\"\\/ \u{7F}\u{2028}\u{2029}é😀\u{FFFE}\r\n"
        let value = JSONValue.object(Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, .string("\($0)\(text)")) }))
        // act + check
        #expect(value.canonicalJSON() == (try Self.encoderJSON(value)))
    }

    @Test func test_canonicalJSON_generatedValues_matchTheEncoder() throws {
        var random = SpecFuzzTests.Generator(state: 2026)
        for _ in 0..<500 {
            let value = Self.generated(depth: 3, &random)
            #expect(value.canonicalJSON() == (try Self.encoderJSON(value)))
        }
    }

    @Test func test_canonicalJSON_nonFiniteDoubles_areDistinctStrings() {
        let values: [JSONValue] = [.double(.nan), .double(.infinity), .double(-.infinity), .null]
        #expect(Set(values.map { JSONValue.array([$0]).canonicalJSON() }).count == 4)
        #expect(JSONValue.double(-.infinity).canonicalJSON() == "\"-Infinity\"")
    }

    static func generated(depth: Int, _ random: inout SpecFuzzTests.Generator) -> JSONValue {
        let alphabet = Array("aZ09_-/.é\"\\\n\t\u{1}😀 ")
        func string() -> String { String((0..<Int.random(in: 0...6, using: &random)).map { _ in alphabet.randomElement(using: &random) ?? "a" }) }
        switch Int.random(in: 0...(depth > 0 ? 7 : 5), using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .int([Int.min, Int.max, 0, -1, Int.random(in: -100_000...100_000, using: &random)].randomElement(using: &random) ?? 0)
        case 3: return .double([0.1, 1e-7, 1e21, -0.0, 2.5, 123_456_789.0, Double.random(in: -1e6...1e6, using: &random)].randomElement(using: &random) ?? 0)
        case 4, 5: return .string(string())
        case 6: return .array((0..<Int.random(in: 0...4, using: &random)).map { _ in generated(depth: depth - 1, &random) })
        default:
            var fields: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &random) { fields[string()] = generated(depth: depth - 1, &random) }
            return .object(fields)
        }
    }
}
