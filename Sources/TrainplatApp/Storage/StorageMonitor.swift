import FluentKit
import Foundation
import Logging
import ServiceLifecycle

/// Keeps the storage gauges current between API calls: every `interval` it measures each
/// project's usage and each member's, which exports the used and quota gauges of bytes and s3
/// objects (`StorageQuotas`) for the alert rules in deploy/prometheus/.
struct StorageMonitor: Service {
    let database: any Database
    let quotas: StorageQuotas
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await measureAll()
            } catch {
                logger.warning("storage usage scan failed", metadata: ["error": "\(error)"])
            }
            // A plain sleep would hold shutdown for up to a whole interval.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    func measureAll() async throws {
        for projectID in try await Project.query(on: database).all(\.$id) {
            let members = try await Membership.query(on: database).filter(\.$project.$id == projectID).all(\.$user.$id)
            _ = try await quotas.standings(projectID: projectID, users: members)
        }
    }
}
