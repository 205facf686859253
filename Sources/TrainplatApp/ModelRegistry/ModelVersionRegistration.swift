import FluentKit
import Foundation
import TrainplatCore

/// Registers the `model_version` a task reported and attaches `model_evaluation` metrics.
enum ModelVersionRegistration {
    static func register(_ fields: [String: JSONValue], provenance: Provenance, on database: any Database) async throws(TaskContract.ContractError) -> ModelVersion {
        let reader = ReportedFields(fields, prefix: "model_version")
        let artifactHash = try reader.string("artifact_hash")
        let trainingSetHash = try reader.optionalString("training_set_version")
        do {
            if let existing = try await ModelVersion.query(on: database)
                .filter(\.$project.$id == provenance.projectID).filter(\.$artifactHash == artifactHash).first()
            {
                return existing
            }
            // An incremental update names its parent by artifact hash: `"parent": {"artifact_hash": …}`.
            // It continues the parent's model unless it names another.
            var parent: ModelVersion?
            if let parentHash = fields["parent"]?.objectValue?["artifact_hash"]?.stringValue {
                parent = try await ModelVersion.query(on: database)
                    .filter(\.$project.$id == provenance.projectID).filter(\.$artifactHash == parentHash).first()
                guard parent != nil else {
                    throw TaskContract.ContractError(description: "model_version.parent names artifact_hash \(parentHash), which no model version of this project has")
                }
            }
            let modelName = try reader.optionalString("model_name") ?? parent?.modelName ?? provenance.defaultName
            let latest = try await ModelVersion.query(on: database)
                .filter(\.$project.$id == provenance.projectID).filter(\.$modelName == modelName)
                .sort(\.$number, .descending).first()
            let version = ModelVersion()
            version.$project.id = provenance.projectID
            version.$creator.id = provenance.userID
            version.$run.id = provenance.runID
            version.$task.id = provenance.taskID
            version.modelName = modelName
            version.number = (latest?.number ?? 0) + 1
            version.artifactURI = try reader.string("artifact_uri")
            version.artifactHash = artifactHash
            version.metrics = fields["metrics"]?.objectValue ?? [:]
            version.config = fields["config"]?.objectValue ?? [:]
            version.status = "registered"
            version.$parent.id = try parent?.requireID()
            if let trainingSetHash {
                version.$trainingSetVersion.id = try await TrainingSetVersion.query(on: database)
                    .filter(\.$project.$id == provenance.projectID).filter(\.$versionID == trainingSetHash).first()?.id
            }
            try await version.create(on: database)
            return version
        } catch let error as TaskContract.ContractError {
            throw error
        } catch {
            throw TaskContract.ContractError(description: "could not register the model version: \(error)")
        }
    }

    /// Records evaluation metrics under `metrics.evaluation` of the version with the artifact hash.
    static func attachEvaluation(_ fields: [String: JSONValue], projectID: UUID, on database: any Database) async throws(TaskContract.ContractError) {
        let reader = ReportedFields(fields, prefix: "model_evaluation")
        let artifactHash = try reader.string("artifact_hash")
        do {
            guard let version = try await ModelVersion.query(on: database)
                .filter(\.$project.$id == projectID).filter(\.$artifactHash == artifactHash).first()
            else {
                throw TaskContract.ContractError(description: "model_evaluation names artifact_hash \(artifactHash), which no model version of this project has")
            }
            version.metrics["evaluation"] = fields["metrics"] ?? .object([:])
            try await version.update(on: database)
        } catch let error as TaskContract.ContractError {
            throw error
        } catch {
            throw TaskContract.ContractError(description: "could not record the evaluation: \(error)")
        }
    }
}
