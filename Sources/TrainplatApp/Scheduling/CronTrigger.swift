import FluentKit
import Foundation
import Logging
import TrainplatCore

/// Starts the runs that pipelines' `schedule:` asks for. The newest version of each pipeline
/// is the one scheduled; each interval becomes at most one run (a unique index on
/// `(pipeline_id, scheduled_for)`), whatever the number of schedulers or restarts.
struct CronTrigger: Sendable {
    let database: any Database
    let specs: SpecCache
    let quotas: StorageQuotas
    let logger: Logger
    /// Versions already warned about, so an unschedulable pipeline is logged once, not every check.
    let warned = WarnedVersions()

    /// A pipeline's newest version, as the check needs it: ids, names and times only.
    struct NewestVersion: Decodable, Sendable {
        let pipelineID: UUID
        let pipelineName: String
        let ownerID: UUID
        let versionID: UUID
        let createdAt: Date?
        enum CodingKeys: String, CodingKey {
            case pipelineID = "pipeline_id", pipelineName = "pipeline_name", ownerID = "user_id", versionID = "version_id", createdAt = "created_at"
        }
    }

    /// Starts runs for intervals that came due up to `now`; returns how many it started.
    @discardableResult
    func fireDueSchedules(now: Date = Date()) async throws -> Int {
        var started = 0
        for newest in try await newestVersions() {
            // Parsed once per version (`SpecCache`); a version that no longer parses is not scheduled.
            guard let spec = try? await specs.spec(versionID: newest.versionID, on: database),
                let cron = spec.schedule.flatMap(CronSchedule.init)
            else { continue }
            let lastRun = try await PipelineRun.query(on: database).filter(\.$pipeline.$id == newest.pipelineID)
                .filter(\.$scheduledFor != nil).sort(\.$scheduledFor, .descending).field(\.$id).field(\.$scheduledFor).first()
            let since = lastRun?.scheduledFor ?? newest.createdAt ?? now
            for interval in Self.intervals(of: cron, catchup: spec.catchup, after: since, upTo: now) {
                if try await start(newest, interval: interval) { started += 1 }
            }
        }
        return started
    }

    /// Every pipeline's newest version, without the specs or the pipelines' mirrored
    /// configuration: this runs every few seconds, and decoding every pipeline's spec each
    /// time cost a busy server more than the runs it was checking for.
    private func newestVersions() async throws -> [NewestVersion] {
        try await database.sql.raw("""
            SELECT p.id AS pipeline_id, p.name AS pipeline_name, p.user_id, v.id AS version_id, v.created_at
            FROM \(ident: Pipeline.schema) p JOIN \(ident: PipelineVersion.schema) v ON v.pipeline_id = p.id
            WHERE v.number = (SELECT MAX(number) FROM \(ident: PipelineVersion.schema) w WHERE w.pipeline_id = p.id)
            """).all(decoding: NewestVersion.self)
    }

    /// Due firing times after `since` up to `now`: the latest only (skip) or all, oldest
    /// first, at most `Catchup.maxBackfill` (backfill).
    static func intervals(of cron: CronSchedule, catchup: Catchup, after since: Date, upTo now: Date) -> [Date] {
        var due: [Date] = []
        var cursor = since
        // Bounded walk: a minutely schedule idle for months must not stall the scheduler.
        var steps = 0
        while steps < 100_000, let next = cron.next(after: cursor), next <= now {
            steps += 1
            due.append(next)
            if due.count > Catchup.maxBackfill { due.removeFirst() }
            cursor = next
        }
        return catchup == .skip ? Array(due.suffix(1)) : due
    }

    private func start(_ newest: NewestVersion, interval: Date) async throws -> Bool {
        do {
            _ = try await RunService(database: database, quotas: quotas).start(
                versionID: newest.versionID, params: [:], userID: newest.ownerID, logicalTime: interval, scheduledFor: interval)
            logger.info("scheduled run started", metadata: ["pipeline": "\(newest.pipelineName)", "interval": "\(interval)"])
            return true
        } catch let invalid as SpecValidationError {
            if warned.insert(newest.versionID) {
                logger.warning("schedule cannot start runs: parameters without defaults", metadata: ["pipeline": "\(newest.pipelineName)", "problem": "\(invalid)"])
            }
            return false
        } catch let refused as Problem {
            // Over a storage quota: the interval stays due and starts once space is freed.
            if warned.insert(newest.versionID) {
                logger.warning("schedule cannot start runs", metadata: ["pipeline": "\(newest.pipelineName)", "problem": "\(refused.detail)"])
            }
            return false
        } catch let error as any DatabaseError where error.isConstraintFailure {
            return false  // another scheduler started this interval first
        }
    }
}

final class WarnedVersions: @unchecked Sendable {
    private var ids: Set<UUID> = []
    private let lock = NSLock()

    /// True the first time `id` is inserted.
    func insert(_ id: UUID) -> Bool {
        lock.withLock { ids.insert(id).inserted }
    }
}
