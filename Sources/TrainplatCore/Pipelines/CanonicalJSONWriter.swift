import Foundation

/// Writes canonical JSON bytes: keys sorted by their UTF-8 bytes, no insignificant
/// whitespace. The input of content hashes, so its bytes must never change: they are those
/// `JSONEncoder` writes with `[.sortedKeys, .withoutEscapingSlashes]` (tests compare the
/// two), written directly because the encoder took a fifth of validating a 10,000-task
/// spec. Non-finite doubles, which the encoder refuses, are written as the strings "NaN",
/// "Infinity" and "-Infinity".
///
/// `value(_:)` sorts an object's keys itself; a caller that writes an object member by
/// member (`beginObject`, `key`, `endObject`) gives the keys in that order (checked in
/// debug builds).
struct CanonicalJSONWriter {
    private(set) var bytes: [UInt8] = []
    /// For each object being written, the last key written in it (nil before the first).
    private var openObjects: [String?] = []

    var text: String { String(decoding: bytes, as: UTF8.self) }

    mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        openObjects.append(nil)
    }

    mutating func endObject() {
        openObjects.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func key(_ key: String) {
        let level = openObjects.count - 1
        if let previous = openObjects[level] {
            assert(Self.precedes(previous, key), "canonical keys out of order: '\(previous)' before '\(key)'")
            bytes.append(UInt8(ascii: ","))
        }
        openObjects[level] = key
        writeString(key)
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func member(_ key: String, _ value: JSONValue) {
        self.key(key)
        self.value(value)
    }

    /// An object of `items` keyed by their names, which must be unique.
    mutating func member<Item>(_ key: String, byName items: [Item], name: (Item) -> String, write: (Item, inout Self) -> Void) {
        self.key(key)
        beginObject()
        members(Self.positionsByName(items, name: name).lazy.map { items[$0] }, name: name, write: write)
        endObject()
    }

    /// The positions of `items` in their names' canonical order. Sorting positions, not the
    /// items, moves no item: sorting 10,000 tasks copied each one's fields.
    static func positionsByName<Item>(_ items: [Item], name: (Item) -> String) -> [Int] {
        items.indices.sorted { precedes(name(items[$0]), name(items[$1])) }
    }

    /// Members of an object written apart from it (`"key":value`, separated by commas), to be
    /// joined into it with `join(members:lastKey:)`. `items` come in their keys' order.
    static func detachedMembers<Item>(_ items: some Sequence<Item>, name: (Item) -> String, write: (Item, inout Self) -> Void) -> [UInt8] {
        var writer = Self()
        writer.openObjects.append(nil)
        writer.members(items, name: name, write: write)
        return writer.bytes
    }

    /// Members written apart (`detachedMembers`), as the open object's next members; the
    /// pieces come in their keys' order, and `lastKey` is the last piece's last key.
    mutating func join(members pieces: [[UInt8]], lastKey: String?) {
        let level = openObjects.count - 1
        for piece in pieces where !piece.isEmpty {
            if openObjects[level] != nil { bytes.append(UInt8(ascii: ",")) }
            bytes += piece
            // A piece's own last key is not known here; what follows needs only to know that
            // the object has members, and the last of them once every piece is joined.
            openObjects[level] = lastKey
        }
    }

    /// `items`' members of the open object, in the order given (their keys' order).
    private mutating func members<Item>(_ items: some Sequence<Item>, name: (Item) -> String, write: (Item, inout Self) -> Void) {
        for item in items {
            key(name(item))
            write(item, &self)
        }
    }

    /// A list of strings, without making each a `JSONValue` first.
    mutating func member(_ key: String, strings: [String]) {
        self.key(key)
        array(strings) { $0.writeString($1) }
    }

    mutating func value(_ value: JSONValue) {
        switch value {
        case .null: bytes += "null".utf8
        case .bool(let flag): bytes += (flag ? "true" : "false").utf8
        case .int(let number): bytes += String(number).utf8
        case .double(let number): bytes += Self.number(number).utf8
        case .string(let text): writeString(text)
        case .array(let items): array(items) { $0.value($1) }
        case .object(let fields):
            beginObject()
            for field in fields.sorted(by: { Self.precedes($0.key, $1.key) }) { member(field.key, field.value) }
            endObject()
        }
    }

    private mutating func array<Element>(_ items: [Element], write: (inout Self, Element) -> Void) {
        bytes.append(UInt8(ascii: "["))
        for (index, item) in items.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            write(&self, item)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// Whether `left` sorts before `right` by their UTF-8 bytes. Compares contiguous bytes
    /// with `memcmp`; the generic comparison of the two views was a tenth of hashing a
    /// 10,000-task spec.
    static func precedes(_ left: String, _ right: String) -> Bool {
        let compared = left.utf8.withContiguousStorageIfAvailable { leftBytes in
            right.utf8.withContiguousStorageIfAvailable { rightBytes in
                let common = min(leftBytes.count, rightBytes.count)
                guard common > 0, let leftStart = leftBytes.baseAddress, let rightStart = rightBytes.baseAddress else {
                    return leftBytes.count < rightBytes.count
                }
                let order = memcmp(leftStart, rightStart, common)
                return order != 0 ? order < 0 : leftBytes.count < rightBytes.count
            }
        }
        return (compared ?? nil) ?? left.utf8.lexicographicallyPrecedes(right.utf8)
    }

    /// Doubles are rare in specs: the encoder formats them (shortest round-trip form).
    private static func number(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "\"NaN\"" : value < 0 ? "\"-Infinity\"" : "\"Infinity\"" }
        let text = (try? JSONEncoder().encode(value)).map { String(decoding: $0, as: UTF8.self) }
        return text ?? String(value)
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    /// Every byte of a multi-byte UTF-8 sequence is 0x80 or more, so only ASCII quotes,
    /// backslashes and control characters are escaped; text without them is copied whole.
    private mutating func writeString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        let copiedWhole = text.utf8.withContiguousStorageIfAvailable { utf8 in
            guard !utf8.contains(where: Self.needsEscape) else { return false }
            bytes.append(contentsOf: utf8)
            return true
        }
        if copiedWhole == true {
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes += #"\""#.utf8
            case UInt8(ascii: "\\"): bytes += #"\\"#.utf8
            case 0x08: bytes += #"\b"#.utf8
            case 0x09: bytes += #"\t"#.utf8
            case 0x0A: bytes += #"\n"#.utf8
            case 0x0C: bytes += #"\f"#.utf8
            case 0x0D: bytes += #"\r"#.utf8
            case 0..<0x20: bytes += String(format: "\\u%04x", byte).utf8
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
