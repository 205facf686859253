import Foundation

/// Byte-level scanning shared by the readers that work on a spec's text without libyaml:
/// `SpecDocumentParts`, which cuts the `tasks:` block, and `SpecDocumentFastReader`.
enum SpecBytes {
    /// The first offset of `byte` in `range` of `input`, by `memchr`; nil when it is not there.
    static func firstOffset(of byte: UInt8, in input: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int? {
        guard let base = input.baseAddress, !range.isEmpty,
            let found = memchr(base + range.lowerBound, Int32(byte), range.count)
        else { return nil }
        return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }

    /// Whether `byte` may start a task's name or a plain word key: a letter, digit or `_`.
    static func startsWord(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
    }
}
