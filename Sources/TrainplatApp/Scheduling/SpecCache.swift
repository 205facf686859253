import FluentKit
import Foundation
import TrainplatCore

/// Parsed specs by pipeline-version id. Versions are immutable, so an entry never goes stale;
/// the scheduler asks on every tick and must not re-parse YAML each time.
final class SpecCache: @unchecked Sendable {
    private var planners: [UUID: RunPlanner] = [:]
    private var specs: [UUID: PipelineSpec] = [:]
    private let lock = NSLock()

    func spec(versionID: UUID, on database: any Database) async throws -> PipelineSpec {
        try await entry(versionID: versionID, on: database).spec
    }

    /// The version's planner (with its DAG), built once: a wide run asks on every tick and
    /// for every attempt.
    func planner(versionID: UUID, on database: any Database) async throws -> RunPlanner {
        try await entry(versionID: versionID, on: database).planner
    }

    private func entry(versionID: UUID, on database: any Database) async throws -> (spec: PipelineSpec, planner: RunPlanner) {
        if let cached = lock.withLock({ specs[versionID].flatMap { spec in planners[versionID].map { (spec, $0) } } }) { return cached }
        guard let version = try await PipelineVersion.find(versionID, on: database) else {
            throw NotFound(resource: "pipeline version", id: versionID.uuidString)
        }
        let spec = try SpecParser.parse(version.spec, knownPrograms: TaskPrograms.builtIn)
        let planner = RunPlanner(spec: spec)
        lock.withLock {
            specs[versionID] = spec
            planners[versionID] = planner
        }
        return (spec, planner)
    }
}
