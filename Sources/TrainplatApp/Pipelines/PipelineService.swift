import FluentKit
import Foundation
import TrainplatCore

/// Registers pipeline specs as immutable, content-addressed versions.
struct PipelineService: Sendable {
    let database: any Database

    struct Registered: Sendable {
        var pipeline: Pipeline
        var version: PipelineVersion
        /// False when an identical spec was already a version of this pipeline.
        var created: Bool
    }

    /// Validates `text` and stores it as a new version, or returns the existing version with
    /// the same canonical hash. Nothing is stored when validation fails.
    func register(specText text: String, projectID: UUID, userID: UUID) async throws -> Registered {
        let valid = try SpecParser.validate(text, knownPrograms: TaskPrograms.builtIn)
        let (spec, canonical, hash) = (valid.spec, valid.canonicalJSON, valid.contentHash)
        return try await database.writeTransaction { database in
            let pipeline = try await findOrCreatePipeline(spec: spec, projectID: projectID, userID: userID, on: database)
            let pipelineID = try pipeline.requireID()
            if let existing = try await PipelineVersion.query(on: database)
                .filter(\.$pipeline.$id == pipelineID).filter(\.$specHash == hash).first()
            {
                return Registered(pipeline: pipeline, version: existing, created: false)
            }
            let latest = try await PipelineVersion.query(on: database).filter(\.$pipeline.$id == pipelineID)
                .sort(\.$number, .descending).first()
            let version = PipelineVersion(
                pipelineID: pipelineID, creatorID: userID, number: (latest?.number ?? 0) + 1, specHash: hash, spec: canonical)
            try await version.create(on: database)
            pipeline.version = String(version.number)
            pipeline.config = try JSONValue.parse(json: canonical).objectValue ?? [:]
            try await pipeline.update(on: database)
            return Registered(pipeline: pipeline, version: version, created: true)
        }
    }

    private func findOrCreatePipeline(spec: PipelineSpec, projectID: UUID, userID: UUID, on database: any Database) async throws -> Pipeline {
        if let existing = try await Pipeline.queryWithoutConfig(on: database)
            .filter(\.$project.$id == projectID).filter(\.$name == spec.name).first()
        {
            return existing
        }
        let pipeline = Pipeline(projectID: projectID, ownerID: userID, name: spec.name, version: "0", config: [:])
        try await pipeline.create(on: database)
        return pipeline
    }
}
