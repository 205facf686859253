import FluentKit
import Foundation
import Hummingbird
import TrainplatCore

/// Where a version came from and what used it: run, pipeline version and task that made it;
/// the training set a model was trained on, its parent chain, and the models trained on a set.
struct LineageDTO: Encodable, Sendable {
    struct Producer: Encodable, Sendable {
        var runID: UUID?
        var pipelineID: UUID?
        var pipelineVersion: Int?
        var specHash: String?
        var task: String?
    }

    var producedBy: Producer
    var trainingSetVersion: String?
    /// Parent first, then its parent, up to the first version trained from scratch.
    var parents: [UUID]
    /// Model versions trained on this training set.
    var models: [UUID]
}

enum Lineage {
    static func producer(runID: UUID?, taskID: UUID?, on database: any Database) async throws -> LineageDTO.Producer {
        guard let runID, let run = try await PipelineRun.find(runID, on: database) else { return .init() }
        let version = try await PipelineVersion.find(run.$version.id, on: database)
        var task: TaskRun?
        if let taskID { task = try await TaskRun.find(taskID, on: database) }
        return .init(runID: runID, pipelineID: run.$pipeline.id, pipelineVersion: version?.number, specHash: version?.specHash, task: task?.name)
    }

    /// The parent chain, bounded so a corrupt cycle cannot loop.
    static func parents(of version: ModelVersion, on database: any Database) async throws -> [UUID] {
        var chain: [UUID] = []
        var next = version.$parent.id
        while let id = next, chain.count < 1000, !chain.contains(id) {
            chain.append(id)
            next = try await ModelVersion.find(id, on: database)?.$parent.id
        }
        return chain
    }
}
