import Foundation

/// One task process to run: what, where, and the limits it runs under.
struct TaskProcessSpec: Sendable {
    var command: [String]
    var environment: [String: String]
    var workDirectory: String
    var logPath: String
    var timeoutSeconds: Double?
    var logLimitBytes: Int
}

/// How an attempt's process ended, including the ways the executor ended it itself.
enum AttemptEnd: Sendable, Equatable {
    case exited(code: Int32)
    case signaled(signal: Int32)
    case timedOut(seconds: Double)
    case logLimitExceeded(bytes: Int)
    case stopped(reason: String)
    /// The server is shutting down; the attempt does not count against the retry policy.
    case interrupted
    case launchFailed(reason: String)
}

/// What the caller's periodic check decides about a running process.
enum TickDecision: Sendable {
    case keepRunning
    case stop(reason: String)
}

/// Runs task processes on this machine (the embedded executor of design.md), enforcing the
/// timeout and the log-size limit, and calling back periodically for heartbeats and progress.
struct LocalExecutor: Sendable {
    var tickInterval: Duration = .milliseconds(500)
    /// Between SIGTERM and SIGKILL, so a task can flush and clean up.
    var stopGracePeriod: Duration = .seconds(3)

    private enum Event: Sendable {
        case exited(ProcessExit)
        case mustStop(AttemptEnd)
        case idle
    }

    func run(
        _ spec: TaskProcessSpec,
        onStart: @Sendable (Int32) async -> Void,
        onTick: @escaping @Sendable () async -> TickDecision
    ) async -> AttemptEnd {
        let pid: Int32
        do {
            pid = try ProcessLauncher.spawn(
                arguments: spec.command, environment: spec.environment, directory: spec.workDirectory, logPath: spec.logPath)
        } catch {
            return .launchFailed(reason: "\(error)")
        }
        await onStart(pid)
        let clock = ContinuousClock()
        let deadline = spec.timeoutSeconds.map { clock.now + .milliseconds(Int64($0 * 1000)) }
        return await withTaskGroup(of: Event.self) { group in
            group.addTask { .exited(await ProcessLauncher.waitForExit(of: pid)) }
            group.addTask { await monitor(spec, deadline: deadline, clock: clock, onTick: onTick) }
            var forced: AttemptEnd?
            while let event = await group.next() {
                switch event {
                case .exited(let exit):
                    group.cancelAll()
                    // Whatever the task left behind in its session (background children) goes too.
                    ProcessLauncher.signalGroup(pid, SIGKILL)
                    return forced ?? Self.end(of: exit)
                case .mustStop(let end):
                    forced = forced ?? end
                    ProcessLauncher.signalGroup(pid, SIGTERM)
                    group.addTask { [stopGracePeriod] in
                        // Cancelled early means the process exited or the server is shutting
                        // down: either way whatever is left of the tree goes now.
                        try? await Task.sleep(for: stopGracePeriod)
                        ProcessLauncher.signalGroup(pid, SIGKILL)
                        return .idle
                    }
                case .idle:
                    continue
                }
            }
            return forced ?? .stopped(reason: "executor lost track of the process")
        }
    }

    private func monitor(
        _ spec: TaskProcessSpec, deadline: ContinuousClock.Instant?, clock: ContinuousClock,
        onTick: @Sendable () async -> TickDecision
    ) async -> Event {
        while !Task.isCancelled {
            try? await Task.sleep(for: tickInterval)
            if Task.isCancelled { break }
            if let deadline, clock.now >= deadline, let seconds = spec.timeoutSeconds {
                return .mustStop(.timedOut(seconds: seconds))
            }
            let logSize = (try? FileManager.default.attributesOfItem(atPath: spec.logPath)[.size] as? Int) ?? 0
            if logSize > spec.logLimitBytes {
                return .mustStop(.logLimitExceeded(bytes: spec.logLimitBytes))
            }
            if case .stop(let reason) = await onTick() {
                return .mustStop(.stopped(reason: reason))
            }
        }
        // Cancelled: the scheduler is shutting down and takes its processes with it.
        return .mustStop(.interrupted)
    }

    private static func end(of exit: ProcessExit) -> AttemptEnd {
        switch exit {
        case .exited(let code): .exited(code: code)
        case .signaled(let signal): .signaled(signal: signal)
        }
    }
}
