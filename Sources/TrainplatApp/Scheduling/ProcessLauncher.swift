#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CProcessSpawn
import Dispatch
import Foundation

/// How a task process ended.
enum ProcessExit: Sendable, Equatable {
    case exited(code: Int32)
    case signaled(signal: Int32)
}

/// Starts task processes with `posix_spawn` in a session of their own, so the whole process
/// tree (a task's own children included) can be stopped with one signal to the group —
/// Foundation's `Process` offers no way to do that.
enum ProcessLauncher {
    struct LaunchError: Error, CustomStringConvertible {
        var description: String
    }

    /// Spawns `arguments[0]` (looked up on PATH) in `directory`, stdout and stderr appended to `logPath`.
    static func spawn(arguments: [String], environment: [String: String], directory: String, logPath: String) throws -> pid_t {
        guard let executable = arguments.first else { throw LaunchError(description: "empty command") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        trainplat_spawn_addchdir(&actions, directory)
        // The task must not inherit the server's descriptors: a task outliving a killed server
        // would otherwise keep its listening socket, and the restarted server could not bind.
        trainplat_spawn_addclosefrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaultSignals = sigset_t()
        sigfillset(&defaultSignals)
        var noSignalsBlocked = sigset_t()
        sigemptyset(&noSignalsBlocked)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignalsBlocked)
        posix_spawnattr_setflags(&attributes, trainplat_spawn_setsid_flag() | Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        // posix_spawnp searches the PATH of *our* environment; resolve against the task's instead.
        let resolved = resolve(executable, path: environment["PATH"])
        var pid = pid_t()
        let result = posix_spawn(&pid, resolved, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw LaunchError(description: "could not start '\(executable)': \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// Waits for `pid` to exit and reaps it, without holding a thread meanwhile: its pidfd
    /// (readable once the process has exited) is watched by a dispatch source.
    ///
    /// A thread blocked in `waitpid` was one of libdispatch's global workers, which Swift's
    /// cooperative pool runs on too: each running task held one, and with every slot busy the
    /// server's async work (HTTP requests, the scheduler loop) waited for libdispatch to notice
    /// and add workers, about 0.1 s at a time (`/health` took 100-150 ms behind eight running
    /// tasks, 1 ms idle). Kernels without pidfds (before 5.3) wait on a thread of their own.
    static func waitForExit(of pid: pid_t) async -> ProcessExit {
        let descriptor = trainplat_pidfd_open(pid)
        guard descriptor >= 0 else { return await waitOnOwnThread(for: pid) }
        return await withCheckedContinuation { continuation in
            let source = DispatchSource.makeReadSource(fileDescriptor: descriptor, queue: exits)
            source.setEventHandler {
                // Readable means exited, so this does not block; once reaped, the source is done.
                guard let exit = reapIfExited(pid) else { return }
                source.cancel()
                continuation.resume(returning: exit)
            }
            source.setCancelHandler { close(descriptor) }
            source.resume()
        }
    }

    /// Where exits are reaped: brief work, one exit at a time.
    private static let exits = DispatchQueue(label: "trainplat.process-exits")

    static func waitOnOwnThread(for pid: pid_t) async -> ProcessExit {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: reap(pid)) }
        }
    }

    /// Waits for the process to exit and reaps it.
    private static func reap(_ pid: pid_t) -> ProcessExit {
        var status: Int32 = 0
        _ = waitpidRetrying(pid, &status, 0)
        return processExit(status)
    }

    /// Reaps the process if it has exited; nil while it runs.
    private static func reapIfExited(_ pid: pid_t) -> ProcessExit? {
        var status: Int32 = 0
        return waitpidRetrying(pid, &status, WNOHANG) == 0 ? nil : processExit(status)
    }

    /// `waitpid`, retried when interrupted. -1 (ECHILD: reaped elsewhere) leaves the status
    /// 0, which reads as exit 0, as it always has.
    private static func waitpidRetrying(_ pid: pid_t, _ status: inout Int32, _ options: Int32) -> pid_t {
        var result: pid_t
        repeat { result = waitpid(pid, &status, options) } while result == -1 && errno == EINTR
        return result
    }

    /// The W* macros are not imported: low 7 bits are the signal, bits 8-15 the exit code.
    private static func processExit(_ status: Int32) -> ProcessExit {
        let signal = status & 0x7f
        return signal == 0 ? .exited(code: (status >> 8) & 0xff) : .signaled(signal: signal)
    }

    /// Signals the whole process group that `pid` leads.
    static func signalGroup(_ pid: pid_t, _ signal: Int32) {
        kill(-pid, signal)
    }

    /// Signals the process group of every process on this host whose environment names the
    /// task: what is left of a task whose server died. Found by environment rather than by a
    /// stored pid, which a server that died in the attempt's first moments never stored.
    static func signalTaskProcesses(of taskID: UUID, _ signal: Int32) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return }
        let (ownProcess, ownGroup) = (getpid(), getpgrp())
        for case let pid? in entries.map({ pid_t($0) }) where pid != ownProcess && isTaskProcess(pid, taskID: taskID) {
            // A task leads a session of its own, so its group is its tree; never our own group.
            let group = getpgid(pid)
            kill(group > 0 && group != ownGroup ? -group : pid, signal)
        }
    }

    /// Whether `pid` is a process of the task (its leader, or a child that kept its
    /// environment): its environment names the task. Process ids are reused (32,768 of them
    /// by default), so a pid alone says nothing; unreadable means no.
    static func isTaskProcess(_ pid: pid_t, taskID: UUID) -> Bool {
        guard let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
        let marker = Data("TRAINPLAT_TASK_ID=\(taskID.uuidString.lowercased())".utf8)
        return environment.split(separator: 0).contains { Data($0) == marker }
    }

    /// True while `pid` runs. A zombie (exited, not yet reaped by its new parent) counts as
    /// gone: its resources are freed and it cannot do anything more.
    static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let afterName = stat.range(of: ") ", options: .backwards)
        else { return true }
        return stat[afterName.upperBound...].first != "Z"
    }

    private static func resolve(_ executable: String, path: String?) -> String {
        if executable.contains("/") { return executable }
        let directories = (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        for directory in directories {
            let candidate = "\(directory)/\(executable)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return executable
    }
}
