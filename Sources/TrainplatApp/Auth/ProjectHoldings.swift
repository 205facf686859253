import FluentKit
import Foundation

/// What a project holds, counted before it may be deleted. Data (pipelines with their runs,
/// feature sources, mounts, training sets, models) blocks the deletion; settings (quotas,
/// lifecycle rules, promotion gates) and access (memberships, scoped API keys) go with it.
struct ProjectHoldings {
    var counts: [(kind: String, count: Int)]

    var isEmpty: Bool { counts.allSatisfy { $0.count == 0 } }

    /// "2 pipelines, 1 mount": the non-zero counts, for the conflict message.
    var summary: String {
        counts.filter { $0.count > 0 }.map { "\($0.count) \($0.kind)" }.joined(separator: ", ")
    }

    static func count(in projectID: UUID, on database: any Database) async throws -> ProjectHoldings {
        ProjectHoldings(counts: [
            ("pipeline(s)", try await rows(\Pipeline.$project.$id, projectID, database)),
            ("feature source(s)", try await rows(\FeatureSource.$project.$id, projectID, database)),
            ("mount(s)", try await rows(\StorageMount.$project.$id, projectID, database)),
            ("training set(s)", try await rows(\TrainingSet.$project.$id, projectID, database)),
            ("model version(s)", try await rows(\ModelVersion.$project.$id, projectID, database)),
        ])
    }

    /// Deletes the rows that only configure the project; call inside the deleting transaction.
    static func deleteSettings(of projectID: UUID, on database: any Database) async throws {
        try await StorageQuota.query(on: database).filter(\.$project.$id == projectID).delete()
        try await StorageLifecycle.query(on: database).filter(\.$project.$id == projectID).delete()
        try await ModelGate.query(on: database).filter(\.$project.$id == projectID).delete()
        try await APIKey.query(on: database).filter(\.$project.$id == projectID).delete()
        try await Membership.query(on: database).filter(\.$project.$id == projectID).delete()
    }

    private static func rows<M: Model>(_ project: KeyPath<M, FieldProperty<M, UUID>>, _ projectID: UUID, _ database: any Database) async throws -> Int {
        try await M.query(on: database).filter(project == projectID).count()
    }
}
