import FluentKit
import Foundation
import TrainplatCore

/// Parsed specs by pipeline-version id. Versions are immutable, so an entry never goes stale;
/// the scheduler asks on every tick and must not re-parse YAML each time.
final class SpecCache: @unchecked Sendable {
    /// A version's spec, its planner (with the DAG) and its tasks by name, built together
    /// once: a wide run asks on every tick and for every attempt.
    private var entries: [UUID: Entry] = [:]
    private let lock = NSLock()

    private struct Entry {
        let spec: PipelineSpec
        let planner: RunPlanner
        let tasks: [String: TaskSpec]
    }

    func spec(versionID: UUID, on database: any Database) async throws -> PipelineSpec {
        try await entry(versionID: versionID, on: database).spec
    }

    /// The version's task of that name: a lookup, where `PipelineSpec.task(named:)` looks
    /// through the tasks (every attempt of a 10,000-task run asks).
    func task(named name: String, versionID: UUID, on database: any Database) async throws -> TaskSpec? {
        try await entry(versionID: versionID, on: database).tasks[name]
    }

    func planner(versionID: UUID, on database: any Database) async throws -> RunPlanner {
        try await entry(versionID: versionID, on: database).planner
    }

    private func entry(versionID: UUID, on database: any Database) async throws -> Entry {
        if let cached = lock.withLock({ entries[versionID] }) { return cached }
        guard let version = try await PipelineVersion.find(versionID, on: database) else {
            throw NotFound(resource: "pipeline version", id: versionID.uuidString)
        }
        let spec = try SpecParser.parse(version.spec, knownPrograms: TaskPrograms.builtIn)
        // Names are unique in a valid spec; the first wins as in `PipelineSpec.task(named:)`.
        let entry = Entry(spec: spec, planner: RunPlanner(spec: spec), tasks: Dictionary(spec.tasks.map { ($0.name, $0) }) { first, _ in first })
        lock.withLock { entries[versionID] = entry }
        return entry
    }
}
