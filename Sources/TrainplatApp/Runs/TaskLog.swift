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
        path: String, from offset: Int, limit: Duration = .seconds(3600), hasEnded: @escaping @Sendable () async throws -> Bool
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
                ended = try await hasEnded()
                if !ended { try await Task.sleep(for: .milliseconds(300)) }
            }
            try await writer.finish(nil)
        }
    }
}

/// One attempt's log, whether or not the attempt's row is written yet: a running attempt
/// writes its row at its first tick (0.5 s), a succeeded one's row is written behind its
/// task's move, and its log is at a known path from its start.
struct AttemptLog: Sendable {
    let taskID: UUID
    let number: Int
    let path: String
    /// Whether the attempt had ended when it was looked up. Read before its log, so a client
    /// that stops at `true` has every byte written before the end.
    let hadEnded: Bool

    /// The path its row stored, or where the runner puts it when there is no row yet.
    static func find(task: TaskRun, number: Int, runsDirectory: String, on database: any Database) async throws -> AttemptLog {
        let taskID = try task.requireID()
        let row = try await TaskAttempt.query(on: database).filter(\.$task.$id == taskID).filter(\.$number == number).first()
        let prefix = AttemptStore.directoryPrefix(runsDirectory: runsDirectory, runID: task.$run.id, task: task.name)
        return AttemptLog(
            taskID: taskID, number: number, path: row?.logPath ?? AttemptStore.Attempt.logPath(directoryPrefix: prefix, number: number),
            hadEnded: ended(task: task, number: number))
    }

    /// Whether it has ended by now, read again (for following).
    func hasEnded(on database: any Database) async throws -> Bool {
        Self.ended(task: try await TaskRun.find(taskID, on: database), number: number)
    }

    /// Ended once its task no longer runs this attempt. The task is the truth: the attempt's
    /// row can say `running` for a moment after its end (a succeeded attempt's row is written
    /// behind its task's move), or until a repair when its server died in between.
    private static func ended(task: TaskRun?, number: Int) -> Bool {
        guard let task else { return true }
        return task.status != .running || task.attemptCount != number
    }
}
