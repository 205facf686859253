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

    /// Starts runs for intervals that came due up to `now`; returns how many it started.
    @discardableResult
    func fireDueSchedules(now: Date = Date()) async throws -> Int {
        var started = 0
        for pipeline in try await Pipeline.query(on: database).all() {
            let pipelineID = try pipeline.requireID()
            guard let version = try await PipelineVersion.query(on: database).filter(\.$pipeline.$id == pipelineID)
                .sort(\.$number, .descending).first(),
                let spec = try? await specs.spec(versionID: try version.requireID(), on: database),
                let cron = spec.schedule.flatMap(CronSchedule.init)
            else { continue }
            let lastRun = try await PipelineRun.query(on: database).filter(\.$pipeline.$id == pipelineID)
                .filter(\.$scheduledFor != nil).sort(\.$scheduledFor, .descending).first()
            let since = lastRun?.scheduledFor ?? version.createdAt ?? now
            for interval in Self.intervals(of: cron, catchup: spec.catchup, after: since, upTo: now) {
                if try await start(version: version, pipeline: pipeline, interval: interval) { started += 1 }
            }
        }
        return started
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

    private func start(version: PipelineVersion, pipeline: Pipeline, interval: Date) async throws -> Bool {
        do {
            _ = try await RunService(database: database, quotas: quotas).start(
                versionID: try version.requireID(), params: [:], userID: pipeline.$owner.id, logicalTime: interval, scheduledFor: interval)
            logger.info("scheduled run started", metadata: ["pipeline": "\(pipeline.name)", "interval": "\(interval)"])
            return true
        } catch let invalid as SpecValidationError {
            if warned.insert(try version.requireID()) {
                logger.warning("schedule cannot start runs: parameters without defaults", metadata: ["pipeline": "\(pipeline.name)", "problem": "\(invalid)"])
            }
            return false
        } catch let refused as Problem {
            // Over a storage quota: the interval stays due and starts once space is freed.
            if warned.insert(try version.requireID()) {
                logger.warning("schedule cannot start runs", metadata: ["pipeline": "\(pipeline.name)", "problem": "\(refused.detail)"])
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
