import FluentKit
import Foundation
import TrainplatCore

/// Who produced a version: the run and task whose outputs carried it.
struct Provenance: Sendable {
    var projectID: UUID
    var userID: UUID
    var runID: UUID
    var taskID: UUID
    var defaultName: String
}

/// Registers the `training_set_version` a task reported. Versions are content-addressed:
/// reporting the same content again returns the existing version.
enum TrainingSetRegistration {
    static func register(_ fields: [String: JSONValue], provenance: Provenance, on database: any Database) async throws(TaskContract.ContractError) -> TrainingSetVersion {
        let reader = ReportedFields(fields, prefix: "training_set_version")
        let hash = try reader.string("content_hash")
        do {
            if let existing = try await TrainingSetVersion.query(on: database)
                .filter(\.$project.$id == provenance.projectID).filter(\.$versionID == hash).first()
            {
                return existing
            }
            let name = try reader.optionalString("name") ?? provenance.defaultName
            let trainingSet = try await findOrCreateSet(named: name, projectID: provenance.projectID, on: database)
            let version = TrainingSetVersion()
            version.$trainingSet.id = try trainingSet.requireID()
            version.$project.id = provenance.projectID
            version.$creator.id = provenance.userID
            version.$run.id = provenance.runID
            version.$task.id = provenance.taskID
            version.name = name
            version.versionID = hash
            version.uri = try reader.string("uri")
            version.rowCount = try reader.int("row_count")
            version.dataSchema = fields["schema"]?.objectValue ?? [:]
            version.dorisQueryConfig = fields["doris_query"]?.objectValue ?? [:]
            version.buildConfig = fields["config"]?.objectValue ?? [:]
            // Tasks report these at the top level or inside their build config.
            let buildConfig = fields["config"]?.objectValue ?? [:]
            version.feastConfig = (fields["feast"] ?? buildConfig["feast"])?.objectValue ?? [:]
            version.qualityScore = (fields["quality_score"] ?? buildConfig["quality_score"])?.doubleValue
            version.timeStart = try reader.optionalTimestamp("time_start")
            version.timeEnd = try reader.optionalTimestamp("time_end")
            version.status = "created"
            version.tier = "hot"
            try await version.create(on: database)
            return version
        } catch let error as TaskContract.ContractError {
            throw error
        } catch {
            throw TaskContract.ContractError(description: "could not register the training-set version: \(error)")
        }
    }

    /// Re-points a version at the data a tiering task moved. Only versions of the task's own
    /// project can move; the content (and so the version id) stays the same.
    static func applyTierMove(_ fields: [String: JSONValue], projectID: UUID, on database: any Database) async throws(TaskContract.ContractError) {
        let reader = ReportedFields(fields, prefix: "tier_moves[]")
        let idText = try reader.string("id")
        let uri = try reader.string("uri")
        let tierText = try reader.string("tier")
        guard let id = UUID(uuidString: idText), let tier = StorageTier(rawValue: tierText) else {
            throw TaskContract.ContractError(description: "tier_moves[]: id must be a version id and tier hot, warm or cold; got \(idText), \(tierText)")
        }
        do {
            guard let version = try await TrainingSetVersion.find(id, on: database), version.$project.id == projectID else {
                throw TaskContract.ContractError(description: "tier_moves[]: training-set version \(idText) is not in this project")
            }
            version.uri = uri
            version.tier = tier.rawValue
            try await version.update(on: database)
        } catch let error as TaskContract.ContractError {
            throw error
        } catch {
            throw TaskContract.ContractError(description: "could not record the tier move of \(idText): \(error)")
        }
    }

    private static func findOrCreateSet(named name: String, projectID: UUID, on database: any Database) async throws -> TrainingSet {
        if let existing = try await TrainingSet.query(on: database).filter(\.$project.$id == projectID).filter(\.$name == name).first() {
            return existing
        }
        let created = TrainingSet(projectID: projectID, name: name)
        try await created.create(on: database)
        return created
    }
}

/// Typed reads of a reported object, failing with the field's full path.
struct ReportedFields {
    let fields: [String: JSONValue]
    let prefix: String

    init(_ fields: [String: JSONValue], prefix: String) {
        self.fields = fields
        self.prefix = prefix
    }

    func string(_ key: String) throws(TaskContract.ContractError) -> String {
        guard let value = try optionalString(key), !value.isEmpty else { throw missing(key, "a non-empty string") }
        return value
    }

    func optionalString(_ key: String) throws(TaskContract.ContractError) -> String? {
        guard let value = fields[key], value != .null else { return nil }
        guard let text = value.stringValue else { throw missing(key, "a string") }
        return text
    }

    func int(_ key: String) throws(TaskContract.ContractError) -> Int {
        guard let value = fields[key]?.intValue, value >= 0 else { throw missing(key, "a whole number >= 0") }
        return value
    }

    func optionalTimestamp(_ key: String) throws(TaskContract.ContractError) -> Date? {
        guard let text = try optionalString(key) else { return nil }
        guard let date = ParamValues.parseTimestamp(text) else { throw missing(key, "an ISO-8601 date-time with time zone") }
        return date
    }

    private func missing(_ key: String, _ expected: String) -> TaskContract.ContractError {
        TaskContract.ContractError(description: "outputs.json: \(prefix).\(key) must be \(expected), got \(fields[key]?.canonicalJSON() ?? "nothing")")
    }
}
