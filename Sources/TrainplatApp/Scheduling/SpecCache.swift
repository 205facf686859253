import FluentKit
import Foundation
import TrainplatCore

/// Parsed specs by pipeline-version id. Versions are immutable, so an entry never goes stale;
/// the scheduler asks on every tick and must not re-parse YAML each time.
final class SpecCache: @unchecked Sendable {
    private var specs: [UUID: PipelineSpec] = [:]
    private let lock = NSLock()

    func spec(versionID: UUID, on database: any Database) async throws -> PipelineSpec {
        if let cached = lock.withLock({ specs[versionID] }) { return cached }
        guard let version = try await PipelineVersion.find(versionID, on: database) else {
            throw NotFound(resource: "pipeline version", id: versionID.uuidString)
        }
        let spec = try SpecParser.parse(version.spec, knownPrograms: TaskPrograms.builtIn)
        lock.withLock { specs[versionID] = spec }
        return spec
    }
}
