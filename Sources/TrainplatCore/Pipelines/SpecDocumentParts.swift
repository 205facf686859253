import Foundation

/// Reads a large spec's `tasks:` block in parts on every core, and joins them into the tree
/// that reading the whole text gives. libyaml reads a text on one thread, and reading was
/// half of validating a 10,000-task spec.
///
/// The block is cut only before a line that starts a task's entry at the block's indentation
/// (`  name: ...`). The rest of the document (the frame) is read with the block's lines left
/// blank, so its line numbers hold, and each part is read as a document of its own, its
/// positions moved to where it stands. The join is taken only when every piece shows that it
/// is whole; otherwise (`nil`) the text is read in one go, which also reports any problem:
/// - the frame's root is a block mapping whose `tasks` key is on the line found, with an
///   empty value: nothing before the block runs on into it, nothing after it is its value;
/// - each part reads as one document whose root is a mapping: a quoted scalar or a flow
///   collection cut at a part's end leaves that part unterminated, and a block scalar's lines
///   are indented deeper than the lines cut before, so none is cut;
/// - no part defines or uses an anchor (parts cannot see each other's), and no task name is
///   in two parts (each part sees only its own duplicates);
/// - the document has no directives before the block (`%TAG` could change what a tag in a
///   part means), the block no line breaks but `\n` (libyaml counts others too), no entry
///   with an explicit key (`? k`), and no part nests within two levels of the limit.
enum SpecDocumentParts {
    /// Below this many bytes a part is not worth a thread.
    static let minPartBytes = 32 << 10

    /// Eight parts a core: a thread that finishes its part early takes another, so a core that
    /// is slower (shared with other work) or starts late holds the join up less. With two a
    /// core, one thread often read a whole part alone at the end.
    static func read(
        _ input: UnsafeBufferPointer<UInt8>, parts wanted: Int = 8 * ProcessInfo.processInfo.activeProcessorCount,
        minPartBytes: Int = minPartBytes
    ) -> SpecNode? {
        guard wanted > 1, let block = TasksBlock(input), !block.hasOtherLineBreaks(in: input) else { return nil }
        let pieces = block.pieces(count: min(wanted, (block.end - block.start) / max(1, minPartBytes)))
        guard pieces.count > 1 else { return nil }
        // Each piece's own copy (a memcpy of the text, small beside reading it), so that no
        // pointer to `input` crosses threads.
        let texts = pieces.map { Array(input[$0.bytes]) } + [block.frame(of: input)]
        let origins = pieces.map { SpecDocumentReader.Origin(lineOffset: $0.line, depth: 1) } + [.documentStart]
        let readings = DispatchQueue.concurrentMap(texts.count) { index in
            texts[index].withUnsafeBufferPointer { text in
                // The frame's `tasks:` has an empty value, which the fast reader leaves to libyaml.
                index == pieces.count ? SpecDocumentReader.readWithLibyaml(text, at: origins[index]) : SpecDocumentReader.read(text, at: origins[index])
            }
        }
        guard case .success(let frameReading)? = readings.last, frameReading.rootIsBlockMapping, let joined = joinedTasks(readings.dropLast()) else { return nil }
        return frameReading.root.flatMap { replacingTasks(in: $0, keyLine: block.keyLine, with: joined) }
    }

    /// The parts' mappings as one, or nil when one of them is not whole or a name repeats.
    private static func joinedTasks(_ readings: ArraySlice<Result<SpecDocumentReader.Reading, SpecDocumentReader.Problems>>) -> SpecNode? {
        var pairs: [(key: SpecNode, value: SpecNode)] = []
        var names = Set<String>()
        var position: SpecNode.Position?
        let count = readings.reduce(0) { count, reading in
            guard case .success(let part) = reading, case .mapping(let partPairs, _)? = part.root else { return count }
            return count + partPairs.count
        }
        pairs.reserveCapacity(count)
        names.reserveCapacity(count)
        for reading in readings {
            // A part nested near the limit is read in one go: libyaml counts one level fewer
            // for a part read alone, so it could let through what the whole read refuses.
            guard case .success(let part) = reading, !part.usesAnchors, 1 + part.height < SpecDocumentReader.maxDepth - 2,
                case .mapping(let partPairs, let partPosition)? = part.root
            else { return nil }
            for pair in partPairs {
                if let name = pair.key.string, !names.insert(name).inserted { return nil }
            }
            pairs += partPairs
            position = position ?? partPosition
        }
        return position.map { .mapping(pairs, $0) }
    }

    /// The frame's root with the joined block as the value of its `tasks` key, or nil when
    /// that key is not on the line found or has a value of its own.
    private static func replacingTasks(in root: SpecNode, keyLine: Int, with tasks: SpecNode) -> SpecNode? {
        guard case .mapping(var pairs, let position) = root,
            let index = pairs.firstIndex(where: { $0.key.string == "tasks" }),
            case .scalar(let key) = pairs[index].key, key.position == SpecNode.Position(line: keyLine + 1, column: 1),
            // Empty, with the block's lines blank. A sequence or a block scalar (`|`) at column 1
            // after them, which reading in one go refuses, would be its value.
            case .scalar(let empty) = pairs[index].value, empty.text.isEmpty, empty.style == .plain, empty.tag == nil
        else { return nil }
        pairs[index].value = tasks
        return .mapping(pairs, position)
    }
}

/// Where a document's `tasks:` block lies (the lines after a `tasks:` line at column 1, up
/// to the next line that starts at column 1) and the lines it may be cut before.
private struct TasksBlock {
    /// The `tasks:` line, 0-based.
    let keyLine: Int
    /// The block's bytes.
    let start: Int
    let end: Int
    /// How many of them are `\n`.
    let newlines: Int
    /// Lines that start an entry (a letter, digit or `_` at the block's indentation).
    let cuts: [(offset: Int, line: Int)]

    /// A piece of the block to read alone: its bytes and the 0-based line it starts on.
    struct Piece {
        let bytes: Range<Int>
        let line: Int
    }

    init?(_ input: UnsafeBufferPointer<UInt8>) {
        var lines = Lines(input)
        var keyLine: Int?
        while keyLine == nil, let line = lines.next() {
            if line.isContent, line.first == UInt8(ascii: "%") { return nil }  // a directive
            if line.indent == 0, Self.isTasksKey(input[line.bytes]) { keyLine = line.number }
        }
        guard let keyLine else { return nil }
        self.keyLine = keyLine
        start = lines.offset
        var end = input.count
        var newlines = 0
        var indent: Int?
        var cuts: [(offset: Int, line: Int)] = []
        while let line = lines.next() {
            if line.isContent, line.indent == 0 {
                end = line.bytes.lowerBound
                break
            }
            if line.bytes.upperBound < input.count { newlines += 1 }
            guard line.isContent else { continue }
            let startsEntry = line.first.map(SpecBytes.startsWord) ?? false
            if indent == nil {
                guard startsEntry else { return nil }
                indent = line.indent
            }
            // An explicit key (`? k`) whose value is left out takes the position of what
            // follows it, which a part read alone does not have.
            if line.indent == indent, line.first == UInt8(ascii: "?") { return nil }
            if line.indent == indent, startsEntry { cuts.append((line.bytes.lowerBound, line.number)) }
        }
        self.end = end
        self.newlines = newlines
        self.cuts = cuts
    }

    /// About `count` pieces of about equal size, each starting at a cut (the first at the
    /// block's start).
    func pieces(count: Int) -> [Piece] {
        guard count > 1 else { return [] }
        var starts = [(offset: start, line: keyLine + 1)]
        var next = cuts.startIndex
        for part in 1..<count {
            let target = start + (end - start) * part / count
            while next < cuts.endIndex, cuts[next].offset < target || cuts[next].offset <= starts[starts.count - 1].offset { next += 1 }
            guard next < cuts.endIndex else { break }
            starts.append(cuts[next])
        }
        return starts.indices.map { index in
            let upTo = index + 1 < starts.count ? starts[index + 1].offset : end
            return Piece(bytes: starts[index].offset..<upTo, line: starts[index].line)
        }
    }

    /// Whether the block breaks lines other than with `\n` (or `\r\n`): libyaml also breaks
    /// at a lone `\r`, NEL, LS and PS, even in comments, and the parts' and the frame's line
    /// numbers count `\n` only.
    /// Each break's first byte is looked for with `memchr`: a loop over every byte of a
    /// 10,000-task block was a fifth of the work done before its parts are read.
    func hasOtherLineBreaks(in input: UnsafeBufferPointer<UInt8>) -> Bool {
        let byte = { (index: Int) in index < input.count ? input[index] : 0 }
        return Self.offsets(of: 0x0D, in: input, start..<end).contains { byte($0 + 1) != 0x0A }
            || Self.offsets(of: 0xC2, in: input, start..<end).contains { byte($0 + 1) == 0x85 }
            || Self.offsets(of: 0xE2, in: input, start..<end).contains { byte($0 + 1) == 0x80 && (byte($0 + 2) == 0xA8 || byte($0 + 2) == 0xA9) }
    }

    /// Where `byte` occurs in `range` of `input`.
    private static func offsets(of byte: UInt8, in input: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> some Sequence<Int> {
        var from = range.lowerBound
        return AnyIterator<Int> {
            guard let offset = SpecBytes.firstOffset(of: byte, in: input, from ..< range.upperBound) else { return nil }
            from = offset + 1
            return offset
        }
    }

    /// The document with the block's lines left blank.
    func frame(of input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var frame = [UInt8]()
        frame.reserveCapacity(start + newlines + input.count - end)
        frame += input[..<start]
        frame += repeatElement(UInt8(ascii: "\n"), count: newlines)
        frame += input[end...]
        return frame
    }

    /// `tasks:`, then nothing but spaces and perhaps a comment.
    private static func isTasksKey(_ line: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        guard line.starts(with: "tasks:".utf8) else { return false }
        let rest = line.dropFirst(6).drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }
        return rest.isEmpty || (rest.first == UInt8(ascii: "#") && rest.count < line.count - 6)
    }
}

/// The lines of a text: each one's bytes (without its newline), number and indentation.
private struct Lines {
    struct Line {
        let bytes: Range<Int>
        let number: Int
        /// Leading spaces.
        let indent: Int
        /// The first byte after them; nil for a line of spaces.
        let first: UInt8?

        /// Neither blank nor a comment.
        var isContent: Bool { first != nil && first != UInt8(ascii: "#") && first != UInt8(ascii: "\r") }
    }

    private let input: UnsafeBufferPointer<UInt8>
    /// Where the next line starts.
    private(set) var offset = 0
    private var number = 0

    init(_ input: UnsafeBufferPointer<UInt8>) {
        self.input = input
    }

    mutating func next() -> Line? {
        guard offset < input.count else { return nil }
        let lineEnd = SpecBytes.firstOffset(of: UInt8(ascii: "\n"), in: input, offset..<input.count) ?? input.count
        let indent = input[offset..<lineEnd].prefix { $0 == UInt8(ascii: " ") }.count
        let line = Line(bytes: offset..<lineEnd, number: number, indent: indent, first: offset + indent < lineEnd ? input[offset + indent] : nil)
        offset = min(lineEnd + 1, input.count)
        number += 1
        return line
    }
}
