import Foundation
import Yams

/// Reads the YAML that specs are mostly written in straight from its bytes, without libyaml,
/// into the tree that libyaml's events give: every scalar's text, style, tag and position.
/// libyaml's scanner was half of the CPU time of validating a 10,000-task spec.
///
/// It reads a subset and declines (nil) everything else, which `SpecDocumentReader` then
/// reads with libyaml; so the subset decides only how fast a text is read, never what it
/// means or which problems are reported. A differential test holds what it accepts to
/// libyaml's tree on thousands of generated and mutated documents. The subset:
/// - printable ASCII and `\n` only (no tabs, carriage returns or other bytes);
/// - a block mapping at the root; block mappings and block sequences under a key (a
///   sequence may stand at its key's indentation); keys that are plain words
///   (`[A-Za-z0-9_]`, then also `.`, `-` and `/`);
/// - every other value on the line of its key or of its `- `: a plain scalar, a quoted one
///   (double-quoted with the escapes `\" \\ \/ \n \t \r`), or a flow collection of such
///   values that closes on that line;
/// - blank lines, comment lines and comments after a value.
///
/// Declined: anchors, aliases, tags, block scalars (`|`, `>`), directives, document
/// markers, explicit keys, empty values, values over several lines, and duplicate keys
/// (libyaml's read reports those with both positions).
struct SpecDocumentFastReader {
    /// A node read, and how many levels its tree goes down (as `SpecDocumentReader` counts).
    private struct Read {
        let node: SpecNode
        let height: Int
    }

    /// Deeper documents are left to libyaml, which enforces `SpecDocumentReader.maxDepth`.
    private static let maxNesting = 64
    /// libyaml takes a key only within 1,024 characters of its `:`.
    private static let maxKeyLength = 1_000

    private let input: UnsafeBufferPointer<UInt8>
    private let origin: SpecDocumentReader.Origin
    /// The byte read next, the 0-based line it is on, and where that line starts.
    private var index = 0
    private var line = 0
    private var lineStart = 0

    /// The document in `input` as the text at `origin`, or nil when it is not in the subset.
    static func read(_ input: UnsafeBufferPointer<UInt8>, at origin: SpecDocumentReader.Origin) -> SpecDocumentReader.Reading? {
        guard input.allSatisfy({ $0 == newline || (0x20...0x7E).contains($0) }) else { return nil }
        var reader = SpecDocumentFastReader(input: input, origin: origin)
        guard let indent = reader.nextContentLine(),
            let (root, after) = reader.blockMapping(indent: indent, depth: origin.depth),
            after == nil
        else { return nil }
        return SpecDocumentReader.Reading(root: root.node, rootIsBlockMapping: true, usesAnchors: false, height: root.height)
    }

    private init(input: UnsafeBufferPointer<UInt8>, origin: SpecDocumentReader.Origin) {
        self.input = input
        self.origin = origin
    }

    // MARK: - Block collections

    /// A block mapping whose keys stand at column `indent`, from its first key; with the
    /// indentation of the line after it (nil at the end of the text).
    private mutating func blockMapping(indent: Int, depth: Int) -> (Read, next: Int?)? {
        guard depth < Self.maxNesting else { return nil }
        let position = here
        var pairs: [(key: SpecNode, value: SpecNode)] = []
        pairs.reserveCapacity(4)
        var seen = SeenKeys()
        var height = 1
        var next: Int? = indent
        while next == indent {
            guard let key = blockKey(), seen.insert(key.text, at: key.position, before: pairs) == nil,
                let (value, after) = blockValue(keyIndent: indent, depth: depth + 1)
            else { return nil }
            pairs.append((.scalar(key), value.node))
            height = max(height, value.height + 1)
            next = after
        }
        // The mapping ends at the end of the text or at a line indented less. A line indented
        // deeper after a value (here or in a sequence under it) would go on with that value
        // in libyaml's reading, or be refused by it.
        guard next.map({ $0 < indent }) ?? true else { return nil }
        return (Read(node: .mapping(pairs, position), height: height), next)
    }

    /// A block sequence whose `- ` stand at column `indent`, from its first; with the
    /// indentation of the line after it.
    private mutating func blockSequence(indent: Int, depth: Int) -> (Read, next: Int?)? {
        guard depth < Self.maxNesting else { return nil }
        let position = here
        var items: [SpecNode] = []
        items.reserveCapacity(4)
        var height = 1
        var next: Int? = indent
        while next == indent, atBlockEntry {
            index += 1
            skipSpaces()
            guard let (item, after) = valueOnThisLine(depth: depth + 1) else { return nil }
            items.append(item.node)
            height = max(height, item.height + 1)
            next = after
        }
        return (Read(node: .sequence(items, position), height: height), next)
    }

    /// A plain word and its `:` (followed by a space or the line's end), at a line's first
    /// non-space byte.
    private mutating func blockKey() -> SpecNode.Scalar? {
        let start = index
        guard index < input.count, SpecBytes.startsWord(input[index]) else { return nil }
        while index < input.count, Self.continuesWord(input[index]) { index += 1 }
        guard index - start <= Self.maxKeyLength, byte(at: index) == colon, Self.isBlankOrEnd(byte(at: index + 1)) else { return nil }
        let key = plainScalar(start..<index)
        index += 1
        return key
    }

    /// The value after a block key's `:`: on the same line, or a block collection on the lines
    /// below (a sequence may stand at the key's own indentation).
    private mutating func blockValue(keyIndent: Int, depth: Int) -> (Read, next: Int?)? {
        // `blockKey` saw a space or the line's end after the `:`.
        let colonEnd = index
        skipSpaces()
        guard atLineEnd || (index > colonEnd && byte(at: index) == hash) else {
            return valueOnThisLine(depth: depth)
        }
        skipRestOfLine()
        guard let indent = nextContentLine() else { return nil }
        if indent > keyIndent {
            return atBlockEntry ? blockSequence(indent: indent, depth: depth) : blockMapping(indent: indent, depth: depth)
        }
        return indent == keyIndent && atBlockEntry ? blockSequence(indent: indent, depth: depth) : nil
    }

    /// A scalar or flow collection that ends its line, with the indentation of the next
    /// content line.
    private mutating func valueOnThisLine(depth: Int) -> (Read, next: Int?)? {
        let value: Read?
        switch byte(at: index) {
        case UInt8(ascii: "["), UInt8(ascii: "{"): value = flowCollection(depth: depth)
        case UInt8(ascii: "\""), UInt8(ascii: "'"): value = quotedScalar().map { Read(node: .scalar($0), height: 1) }
        default: value = plainBlockScalar().map { Read(node: .scalar($0), height: 1) }
        }
        guard let value, endOfLine() else { return nil }
        return (value, nextContentLine())
    }

    /// A plain scalar in a block: up to a comment or the line's end, without `: `.
    private mutating func plainBlockScalar() -> SpecNode.Scalar? {
        let start = index
        guard Self.startsPlain(byte(at: index), next: byte(at: index + 1), inFlow: false) else { return nil }
        while let current = byte(at: index), current != newline {
            if current == colon, Self.isBlankOrEnd(byte(at: index + 1)) { return nil }
            if current == hash, input[index - 1] == space { break }
            index += 1
        }
        index = trimmedEnd(start..<index)
        return plainScalar(start..<index)
    }

    // MARK: - Flow collections, on one line

    private mutating func flowNode(depth: Int) -> Read? {
        switch byte(at: index) {
        case UInt8(ascii: "["), UInt8(ascii: "{"): flowCollection(depth: depth)
        case UInt8(ascii: "\""), UInt8(ascii: "'"): quotedScalar().map { Read(node: .scalar($0), height: 1) }
        default: plainFlowScalar().map { Read(node: .scalar($0), height: 1) }
        }
    }

    private mutating func flowCollection(depth: Int) -> Read? {
        guard depth < Self.maxNesting else { return nil }
        let position = here
        let isMapping = byte(at: index) == UInt8(ascii: "{")
        let close = isMapping ? UInt8(ascii: "}") : UInt8(ascii: "]")
        var items: [SpecNode] = []
        var pairs: [(key: SpecNode, value: SpecNode)] = []
        if isMapping { pairs.reserveCapacity(4) } else { items.reserveCapacity(4) }
        var seen = SeenKeys()
        var height = 1
        index += 1
        skipSpaces()
        while byte(at: index) != close {
            if isMapping {
                guard let key = flowKey(), seen.insert(key.text, at: key.position, before: pairs) == nil,
                    let value = flowNode(depth: depth + 1)
                else { return nil }
                pairs.append((.scalar(key), value.node))
                height = max(height, value.height + 1)
            } else {
                guard let item = flowNode(depth: depth + 1) else { return nil }
                items.append(item.node)
                height = max(height, item.height + 1)
            }
            skipSpaces()
            guard byte(at: index) == comma else { break }
            index += 1
            skipSpaces()
            // A comma before the closing bracket is left to libyaml.
            guard byte(at: index) != close else { return nil }
        }
        guard byte(at: index) == close else { return nil }
        index += 1
        let node: SpecNode = isMapping ? .mapping(pairs, position) : .sequence(items, position)
        return Read(node: node, height: height)
    }

    /// A flow mapping's key (a scalar) and its `: `, then the spaces before the value.
    private mutating func flowKey() -> SpecNode.Scalar? {
        let start = index
        let key = byte(at: index) == UInt8(ascii: "\"") || byte(at: index) == UInt8(ascii: "'") ? quotedScalar() : plainFlowScalar()
        guard let key, index - start <= Self.maxKeyLength, byte(at: index) == colon, byte(at: index + 1) == space else { return nil }
        index += 2
        skipSpaces()
        return key
    }

    /// A plain scalar in a flow collection: up to a flow indicator or a `:`.
    private mutating func plainFlowScalar() -> SpecNode.Scalar? {
        let start = index
        guard Self.startsPlain(byte(at: index), next: byte(at: index + 1), inFlow: true) else { return nil }
        while let current = byte(at: index), !Self.endsPlainInFlow(current) {
            // A comment inside a flow collection means it goes on over the next line.
            if current == hash, input[index - 1] == space { return nil }
            index += 1
        }
        let end = trimmedEnd(start..<index)
        return plainScalar(start..<end)
    }

    // MARK: - Scalars

    private func plainScalar(_ bytes: Range<Int>) -> SpecNode.Scalar {
        SpecNode.Scalar(text: text(bytes), style: .plain, tag: nil, position: position(of: bytes.lowerBound))
    }

    /// A quoted scalar that closes on its line; libyaml tags every quoted scalar `!!str`.
    private mutating func quotedScalar() -> SpecNode.Scalar? {
        let position = here
        let quote = input[index]
        index += 1
        // The text's bytes up to `start` once an escape or a doubled quote changed them;
        // while empty, the text is a slice of the input.
        var unescaped: [UInt8] = []
        var start = index
        while true {
            guard let current = byte(at: index), current != newline else { return nil }
            if current == quote {
                // A doubled single quote stands for one.
                guard quote == UInt8(ascii: "'"), byte(at: index + 1) == quote else { break }
                unescaped += input[start...index]
                index += 2
                start = index
            } else if current == UInt8(ascii: "\\"), quote == UInt8(ascii: "\"") {
                guard let escaped = byte(at: index + 1).flatMap(Self.unescape) else { return nil }
                unescaped += input[start..<index]
                unescaped.append(escaped)
                index += 2
                start = index
            } else {
                index += 1
            }
        }
        let text = unescaped.isEmpty ? self.text(start..<index) : String(decoding: unescaped + input[start..<index], as: UTF8.self)
        index += 1
        let style: Node.Scalar.Style = quote == UInt8(ascii: "'") ? .singleQuoted : .doubleQuoted
        return SpecNode.Scalar(text: text, style: style, tag: Tag.Name.str.rawValue, position: position)
    }

    private static func unescape(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): byte
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "t"): 0x09
        case UInt8(ascii: "r"): 0x0D
        default: nil
        }
    }

    /// Whether a plain scalar may start with `first`: not with an indicator, and not with
    /// `-` followed by a blank (a sequence entry); `?` and `:` starts are left to libyaml.
    private static func startsPlain(_ first: UInt8?, next: UInt8?, inFlow: Bool) -> Bool {
        guard let first, first != newline, first != space else { return false }
        if first == UInt8(ascii: "-") { return !isBlankOrEnd(next) && !(inFlow && next.map(endsPlainInFlow) == true) }
        switch first {
        case UInt8(ascii: "?"), UInt8(ascii: ":"), UInt8(ascii: ","), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"),
            UInt8(ascii: "}"), UInt8(ascii: "#"), UInt8(ascii: "&"), UInt8(ascii: "*"), UInt8(ascii: "!"), UInt8(ascii: "|"),
            UInt8(ascii: ">"), UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "%"), UInt8(ascii: "@"), UInt8(ascii: "`"):
            return false
        default:
            return true
        }
    }

    private static func endsPlainInFlow(_ byte: UInt8) -> Bool {
        byte == comma || byte == colon || byte == newline || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]")
            || byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}")
    }

    private static func continuesWord(_ byte: UInt8) -> Bool {
        SpecBytes.startsWord(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "/")
    }

    // MARK: - Lines

    /// Moves from a line's start to the first non-space byte of the next line that is neither
    /// blank nor a comment, and answers its indentation; nil at the end of the text.
    private mutating func nextContentLine() -> Int? {
        while index < input.count {
            skipSpaces()
            if let current = byte(at: index), current != newline, current != hash { return index - lineStart }
            skipRestOfLine()
        }
        return nil
    }

    /// After a value: spaces, perhaps a comment, then the line's end, past which it moves.
    private mutating func endOfLine() -> Bool {
        let valueEnd = index
        skipSpaces()
        guard atLineEnd || (index > valueEnd && byte(at: index) == hash) else { return false }
        skipRestOfLine()
        return true
    }

    private mutating func skipRestOfLine() {
        guard let lineEnd = SpecBytes.firstOffset(of: newline, in: input, index..<input.count) else {
            index = input.count
            return
        }
        index = lineEnd + 1
        line += 1
        lineStart = index
    }

    private mutating func skipSpaces() {
        while byte(at: index) == space { index += 1 }
    }

    private var atLineEnd: Bool { byte(at: index).map { $0 == newline } ?? true }
    /// `- ` (a `-` alone on its line starts a nested block, which is left to libyaml).
    private var atBlockEntry: Bool { byte(at: index) == UInt8(ascii: "-") && byte(at: index + 1) == space }

    private func byte(at offset: Int) -> UInt8? {
        offset < input.count ? input[offset] : nil
    }

    private static func isBlankOrEnd(_ byte: UInt8?) -> Bool {
        byte.map { $0 == space || $0 == newline } ?? true
    }

    /// The end of `bytes` without its trailing spaces.
    private func trimmedEnd(_ bytes: Range<Int>) -> Int {
        var end = bytes.upperBound
        while end > bytes.lowerBound, input[end - 1] == space { end -= 1 }
        return end
    }

    private var here: SpecNode.Position { position(of: index) }

    /// Columns count bytes, which for ASCII are characters, as libyaml counts them.
    private func position(of offset: Int) -> SpecNode.Position {
        SpecNode.Position(line: origin.lineOffset + line + 1, column: offset - lineStart + 1)
    }

    private func text(_ bytes: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: input[bytes]), as: UTF8.self)
    }
}

private let newline = UInt8(ascii: "\n")
private let space = UInt8(ascii: " ")
private let colon = UInt8(ascii: ":")
private let comma = UInt8(ascii: ",")
private let hash = UInt8(ascii: "#")
