// libyaml, which Yams compiles as its C target; SwiftPM makes a dependency's C modules
// importable by the targets that depend on it.
import CYaml
import Yams

/// One node of a spec document, composed straight from libyaml's events. Yams' own
/// composer built a `Node` per event with a `Tag` object, a resolver and a hashed
/// duplicate-key check: two fifths of validating a 10,000-task spec. Typed reads of
/// scalars (`int`, `bool`, ...) still go through Yams' constructors, so YAML typing is
/// exactly what it was (`on` is true, `0x1F` is 31, quoted text stays text).
enum SpecNode: Sendable {
    case scalar(Scalar)
    case sequence([SpecNode], Position)
    case mapping([(key: SpecNode, value: SpecNode)], Position)

    /// Where a node starts in the text, 1-based.
    struct Position: Sendable, Hashable {
        let line: Int
        let column: Int
    }

    struct Scalar: Sendable {
        let text: String
        /// Yams' `Node.Scalar.Style` by its raw value, since that enum is not `Sendable` (the
        /// parser reads a large spec's tasks on several threads).
        private let styleRawValue: Node.Scalar.Style.RawValue
        var style: Node.Scalar.Style { Node.Scalar.Style(rawValue: styleRawValue) ?? .any }
        /// The explicit tag (`!!str 3`), or `!!str` for a quoted scalar, as Yams records it.
        let tag: String?
        let position: Position

        /// The scalar as Yams would have composed it, for its constructors.
        var yamsNode: Node {
            .scalar(Node.Scalar(text, Tag(tag.map(Tag.Name.init(rawValue:)) ?? .implicit), style))
        }

        init(text: String, style: Node.Scalar.Style, tag: String?, position: Position) {
            self.text = text
            self.styleRawValue = style.rawValue
            self.tag = tag
            self.position = position
        }
    }

    var position: Position {
        switch self {
        case .scalar(let scalar): scalar.position
        case .sequence(_, let position), .mapping(_, let position): position
        }
    }

    /// The text of a scalar; nil for collections.
    var string: String? {
        if case .scalar(let scalar) = self { return scalar.text }
        return nil
    }

    var int: Int? { scalarNode?.int }
    var bool: Bool? { scalarNode?.bool }

    private var scalarNode: Node? {
        if case .scalar(let scalar) = self { return scalar.yamsNode }
        return nil
    }
}

/// Composes a `SpecNode` tree from YAML (or JSON) text. Aliases are resolved; duplicate
/// keys, more than one document, nesting past `maxDepth` (aliases included) and aliases
/// that expand past `maxExpandedNodes` are problems with a position, never a crash or an
/// exhausted memory.
struct SpecDocumentReader {
    /// libyaml's own limit on written nesting, so every document it reads is read; an alias
    /// may not nest its anchor's node deeper (the tree is walked recursively later on).
    static let maxDepth = 1_000
    static let maxExpandedNodes = 1_000_000

    struct Problem: Error, Sendable {
        let message: String
        let position: SpecNode.Position?
    }

    /// Every duplicate key of a document, or its first syntax problem.
    struct Problems: Error, Sendable {
        let all: [Problem]
    }

    /// The root node, nil for an empty document. A large spec's `tasks:` block is read in
    /// parts on every core when its layout allows (`SpecDocumentParts`), with the outcome
    /// of reading it in one go.
    static func read(_ text: String) throws(Problems) -> SpecNode? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return nil }
        return try bytes.withUnsafeBufferPointer { input throws(Problems) in
            if let root = SpecDocumentParts.read(input) { return root }
            return try read(input, at: .documentStart).get().root
        }
    }

    /// Where a piece of text sits in its document: its first line and its nesting depth.
    struct Origin {
        var lineOffset = 0
        var depth = 0

        static let documentStart = Origin()
    }

    /// What reading a piece of text gave: its root, whether that is a block mapping (`key:`
    /// lines, not `{...}`), and whether the text defines or uses anchors (a piece that does
    /// cannot be joined with others: they may refer to each other's).
    struct Reading: Sendable {
        let root: SpecNode?
        let rootIsBlockMapping: Bool
        let usesAnchors: Bool
        /// How many levels the root's tree goes down (aliases counted where they stand).
        let height: Int
    }

    /// Reads `input` (one whole document) as the text at `origin`: straight from its bytes
    /// when it is in `SpecDocumentFastReader`'s subset, with libyaml otherwise.
    static func read(_ input: UnsafeBufferPointer<UInt8>, at origin: Origin) -> Result<Reading, Problems> {
        SpecDocumentFastReader.read(input, at: origin).map { .success($0) } ?? readWithLibyaml(input, at: origin)
    }

    /// Reads `input` (one whole document) as the text at `origin` with libyaml.
    static func readWithLibyaml(_ input: UnsafeBufferPointer<UInt8>, at origin: Origin) -> Result<Reading, Problems> {
        // libyaml keeps pointers to its parser and to the input between calls: both live at
        // fixed addresses until the parser is deleted.
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        parser.initialize(to: yaml_parser_t())
        defer {
            parser.deinitialize(count: 1)
            parser.deallocate()
        }
        var reader = SpecDocumentReader(parser: parser, input: input, origin: origin)
        yaml_parser_initialize(parser)
        defer { yaml_parser_delete(parser) }
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(parser, input.baseAddress, input.count)
        do throws(Problem) {
            let root = try reader.readStream()
            guard reader.duplicates.isEmpty else { return .failure(Problems(all: reader.duplicates)) }
            return .success(Reading(root: root, rootIsBlockMapping: reader.rootIsBlockMapping, usesAnchors: reader.usesAnchors, height: reader.rootHeight))
        } catch {
            return .failure(Problems(all: [error]))
        }
    }

    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private let input: UnsafeBufferPointer<UInt8>
    private let origin: Origin
    private var anchors: [String: Composed] = [:]
    private var usesAnchors = false
    private var rootIsBlockMapping = false
    private var rootHeight = 0
    private var expandedNodes = 0
    private var duplicates: [Problem] = []

    private init(parser: UnsafeMutablePointer<yaml_parser_t>, input: UnsafeBufferPointer<UInt8>, origin: Origin) {
        self.parser = parser
        self.input = input
        self.origin = origin
    }

    private mutating func readStream() throws(Problem) -> SpecNode? {
        try expect(YAML_STREAM_START_EVENT)
        var event = try next()
        defer { yaml_event_delete(&event) }
        guard event.type == YAML_DOCUMENT_START_EVENT else { return nil }
        let first = try next()
        rootIsBlockMapping = first.type == YAML_MAPPING_START_EVENT && first.data.mapping_start.style == YAML_BLOCK_MAPPING_STYLE
        let composed = try readNode(first, depth: origin.depth)
        rootHeight = composed.measure.height
        let root = composed.node
        try expect(YAML_DOCUMENT_END_EVENT)
        var after = try next()
        defer { yaml_event_delete(&after) }
        guard after.type == YAML_STREAM_END_EVENT else {
            throw Problem(message: "not valid YAML/JSON: expected one document, found another", position: positionOf(after.start_mark))
        }
        return root
    }

    /// How many nodes a node holds and how many levels deep it goes.
    private struct Measure {
        var size = 1
        var height = 1

        /// Counts a child read into this collection.
        mutating func add(_ child: Measure) {
            size += child.size
            height = max(height, child.height + 1)
        }
    }

    /// A node read, with its measure.
    private struct Composed {
        let node: SpecNode
        var measure = Measure()
    }

    /// Reads the node that starts with `event` (which it releases).
    private mutating func readNode(_ first: yaml_event_t, depth: Int) throws(Problem) -> Composed {
        var event = first
        defer { yaml_event_delete(&event) }
        let position = positionOf(event.start_mark)
        guard depth < Self.maxDepth else {
            throw Problem(message: "spec nests deeper than \(Self.maxDepth) levels", position: position)
        }
        let read: Composed
        let anchor: UnsafeMutablePointer<UInt8>?
        switch event.type {
        case YAML_ALIAS_EVENT:
            return try resolveAlias(Self.text(event.data.alias.anchor), at: position, depth: depth)
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let tag = scalar.quoted_implicit == 1 ? Tag.Name.str.rawValue : Self.text(scalar.tag)
            let style = Node.Scalar.Style(rawValue: numericCast(scalar.style.rawValue)) ?? .any
            let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            read = Composed(node: .scalar(SpecNode.Scalar(text: text, style: style, tag: tag, position: position)))
            anchor = scalar.anchor
        case YAML_SEQUENCE_START_EVENT:
            read = try readSequence(at: position, depth: depth)
            anchor = event.data.sequence_start.anchor
        case YAML_MAPPING_START_EVENT:
            read = try readMapping(at: position, depth: depth)
            anchor = event.data.mapping_start.anchor
        default:
            throw Problem(message: "not valid YAML/JSON: the document's structure breaks off here", position: position)
        }
        if let name = Self.text(anchor) {
            anchors[name] = read
            usesAnchors = true
        }
        return read
    }

    /// What a collection's storage is first made for: most of a spec's collections are a
    /// task's few fields or a short list, which then grow without reallocating.
    private static let initialCapacity = 4

    private mutating func readSequence(at position: SpecNode.Position, depth: Int) throws(Problem) -> Composed {
        var items: [SpecNode] = []
        items.reserveCapacity(Self.initialCapacity)
        var measure = Measure()
        while let event = try next(unlessItIs: YAML_SEQUENCE_END_EVENT) {
            let item = try readNode(event, depth: depth + 1)
            items.append(item.node)
            measure.add(item.measure)
        }
        return Composed(node: .sequence(items, position), measure: measure)
    }

    private mutating func readMapping(at position: SpecNode.Position, depth: Int) throws(Problem) -> Composed {
        var pairs: [(key: SpecNode, value: SpecNode)] = []
        pairs.reserveCapacity(Self.initialCapacity)
        var measure = Measure()
        var seen = SeenKeys()
        while let event = try next(unlessItIs: YAML_MAPPING_END_EVENT) {
            let keyRead = try readNode(event, depth: depth + 1)
            let valueRead = try readNode(try next(), depth: depth + 1)
            let (key, value) = (keyRead.node, valueRead.node)
            if let text = key.string, let first = seen.insert(text, at: key.position, before: pairs) {
                let again = key.position
                duplicates.append(Problem(
                    message: "duplicate key '\(text)': it appears again at line \(again.line), column \(again.column)", position: first))
            }
            pairs.append((key, value))
            measure.add(keyRead.measure)
            measure.add(valueRead.measure)
        }
        return Composed(node: .mapping(pairs, position), measure: measure)
    }

    /// An alias shares its anchor's node; its size counts again, so a handful of aliases
    /// nested in each other ("billion laughs") cannot expand into billions of values later,
    /// and its height counts from where it stands, so aliases cannot nest past `maxDepth`.
    private mutating func resolveAlias(_ name: String?, at position: SpecNode.Position, depth: Int) throws(Problem) -> Composed {
        usesAnchors = true
        guard let name, let anchored = anchors[name] else {
            throw Problem(message: "not valid YAML/JSON: alias '*\(name ?? "")' names no anchor defined before it", position: position)
        }
        guard depth + anchored.measure.height <= Self.maxDepth else {
            throw Problem(message: "spec nests deeper than \(Self.maxDepth) levels (counting what its aliases stand for)", position: position)
        }
        expandedNodes += anchored.measure.size
        guard expandedNodes <= Self.maxExpandedNodes else {
            throw Problem(message: "aliases expand to more than \(Self.maxExpandedNodes) values", position: position)
        }
        return anchored
    }

    private mutating func next() throws(Problem) -> yaml_event_t {
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else {
            let problem = parser.pointee.problem.map { String(cString: $0) }
            // The reader (bad UTF-8, control characters) marks no position, only an offset.
            let position = parser.pointee.error == YAML_READER_ERROR
                ? positionOfByte(parser.pointee.problem_offset) : positionOf(parser.pointee.problem_mark)
            throw Problem(message: "not valid YAML/JSON: \(problem ?? "unreadable input")", position: position)
        }
        return event
    }

    /// The next event, or nil (the event released) when it is `end`, which closes a collection.
    private mutating func next(unlessItIs end: yaml_event_type_t) throws(Problem) -> yaml_event_t? {
        var event = try next()
        guard event.type == end else { return event }
        yaml_event_delete(&event)
        return nil
    }

    private mutating func expect(_ type: yaml_event_type_t) throws(Problem) {
        var event = try next()
        defer { yaml_event_delete(&event) }
        guard event.type == type else {
            throw Problem(message: "not valid YAML/JSON: the document's structure breaks off here", position: positionOf(event.start_mark))
        }
    }

    private func positionOfByte(_ offset: Int) -> SpecNode.Position {
        let before = input.prefix(max(0, offset))
        let lineStart = before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        return SpecNode.Position(
            line: origin.lineOffset + before.count(where: { $0 == UInt8(ascii: "\n") }) + 1, column: before.count - lineStart + 1)
    }

    private func positionOf(_ mark: yaml_mark_t) -> SpecNode.Position {
        SpecNode.Position(line: origin.lineOffset + mark.line + 1, column: mark.column + 1)
    }

    private static func text(_ pointer: UnsafeMutablePointer<UInt8>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}

/// The keys of one mapping read so far. Most mappings hold a handful of keys, where a scan
/// of the pairs read so far beats hashing each key into a dictionary (a 10,000-task spec has
/// 10,000 such mappings); a large one (`tasks:`) moves to a dictionary.
struct SeenKeys {
    private static let scanLimit = 16
    private var many: [String: SpecNode.Position] = [:]

    /// Records `key` at `position` unless it was seen; answers where it was first seen.
    /// `pairs` are the mapping's pairs before this key's.
    mutating func insert(_ key: String, at position: SpecNode.Position, before pairs: [(key: SpecNode, value: SpecNode)]) -> SpecNode.Position? {
        if pairs.count < Self.scanLimit {
            return pairs.first { $0.key.string == key }?.key.position
        }
        if many.isEmpty {
            for pair in pairs.reversed() {
                if let text = pair.key.string { many[text] = pair.key.position }
            }
        }
        if let first = many[key] { return first }
        many[key] = position
        return nil
    }
}
