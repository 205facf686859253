import Foundation
import Testing
@testable import TrainplatApp

/// An attempt's directory: created with its task's directory when that is missing, beside an
/// earlier attempt's when not, with any missing level above, and refused with a file in the way.
@Suite("Attempt directories")
struct AttemptDirectoryTests {
    private func scratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("attempt-dirs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    private func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }

    @Test func test_createDirectory_firstAndSecondAttempt_andMissingLevels() throws {
        // setup
        let root = try scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let first = AttemptStore.Attempt(1, of: UUID(), directoryPrefix: "\(root)/run-a/train")
        let second = AttemptStore.Attempt(2, of: first.taskID, directoryPrefix: "\(root)/run-a/train")
        let deep = AttemptStore.Attempt(1, of: UUID(), directoryPrefix: "\(root)/missing/run-b/eval")
        // act
        try FileManager.default.createDirectory(atPath: "\(root)/run-a", withIntermediateDirectories: false)
        try first.createDirectory()
        try second.createDirectory()
        try deep.createDirectory()
        // check
        #expect(isDirectory("\(root)/run-a/train/attempt-1"))
        #expect(isDirectory("\(root)/run-a/train/attempt-2"))
        #expect(isDirectory("\(root)/missing/run-b/eval/attempt-1"))
    }

    @Test func test_createDirectory_aFileInTheWay_throws() throws {
        // setup: the task's "directory" is a file
        let root = try scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        FileManager.default.createFile(atPath: "\(root)/train", contents: Data("x".utf8))
        let attempt = AttemptStore.Attempt(1, of: UUID(), directoryPrefix: "\(root)/train")
        // act, check
        #expect(throws: (any Error).self) { try attempt.createDirectory() }
    }
}
