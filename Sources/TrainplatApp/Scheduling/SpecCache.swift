import FluentKit
import Foundation
import TrainplatCore

/// Parsed specs by pipeline-version id. Versions are immutable, so an entry never goes stale;
/// the scheduler asks on every tick and must not re-parse YAML each time.
final class SpecCache: @unchecked Sendable {
    /// A version's spec and its planner (with the DAG), built together once: a wide run asks
    /// on every tick and for every attempt.
    private var entries: [UUID: (spec: PipelineSpec, planner: RunPlanner)] = [:]
    private let lock = NSLock()

    func spec(versionID: UUID, on database: any Database) async throws -> PipelineSpec {
        try await entry(versionID: versionID, on: database).spec
    }

    func planner(versionID: UUID, on database: any Database) async throws -> RunPlanner {
        try await entry(versionID: versionID, on: database).planner
    }

    private func entry(versionID: UUID, on database: any Database) async throws -> (spec: PipelineSpec, planner: RunPlanner) {
        if let cached = lock.withLock({ entries[versionID] }) { return cached }
        guard let version = try await PipelineVersion.find(versionID, on: database) else {
            throw NotFound(resource: "pipeline version", id: versionID.uuidString)
        }
        let spec = try SpecParser.parse(version.spec, knownPrograms: TaskPrograms.builtIn)
        let entry = (spec: spec, planner: RunPlanner(spec: spec))
        lock.withLock { entries[versionID] = entry }
        return entry
    }
}
