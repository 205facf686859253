import FluentKit
import Foundation
import Hummingbird

/// Reading an attempt's log by byte offset: what `?offset=` answers and `?follow=` streams.
enum TaskLog {
    /// Up to `maxBytes` from `offset`, and the offset after them.
    static func read(path: String, from offset: Int, maxBytes: Int) -> (data: Data, next: Int) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return (Data(), offset) }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: UInt64(offset))) != nil, let data = try? handle.read(upToCount: maxBytes) else {
            return (Data(), offset)
        }
        return (data, offset + data.count)
    }

    static func size(path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    /// A body that writes the log from `offset` as it grows, until the attempt has ended and
    /// everything it wrote is sent, or `limit` passes (clients reconnect with `?offset=`).
    static func follow(
        attemptID: UUID, path: String, from offset: Int, database: any Database, limit: Duration = .seconds(3600)
    ) -> ResponseBody {
        ResponseBody { writer in
            var offset = offset
            var ended = false
            let deadline = ContinuousClock.now + limit
            while ContinuousClock.now < deadline {
                let chunk = read(path: path, from: offset, maxBytes: 64 * 1024)
                if !chunk.data.isEmpty {
                    try await writer.write(ByteBuffer(data: chunk.data))
                    offset = chunk.next
                    continue
                }
                // Nothing new. Once the attempt has ended, one more read catches its last bytes.
                if ended { break }
                ended = try await TaskAttempt.find(attemptID, on: database).map { $0.status != .running } ?? true
                if !ended { try await Task.sleep(for: .milliseconds(300)) }
            }
            try await writer.finish(nil)
        }
    }
}
