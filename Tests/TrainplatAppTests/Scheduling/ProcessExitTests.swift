import Foundation
import Testing
@testable import TrainplatApp

@Suite("Waiting for a task process's exit")
struct ProcessExitTests {
    private func spawn(_ script: String) throws -> pid_t {
        let directory = FileManager.default.temporaryDirectory.path
        return try ProcessLauncher.spawn(
            arguments: ["sh", "-c", script], environment: ["PATH": "/usr/bin:/bin"], directory: directory, logPath: "/dev/null")
    }

    @Test func test_waitForExit_readsTheExitCodeAndTheSignal_throughThePidfdAndOnAThread() async throws {
        // setup: one process exits with 3, one is killed
        let exiting = try spawn("exit 3"), killed = try spawn("kill -9 $$")
        let exitingOnThread = try spawn("exit 4"), killedOnThread = try spawn("kill -9 $$")
        // act
        let exits = [
            await ProcessLauncher.waitForExit(of: exiting), await ProcessLauncher.waitForExit(of: killed),
            await ProcessLauncher.waitOnOwnThread(for: exitingOnThread), await ProcessLauncher.waitOnOwnThread(for: killedOnThread),
        ]
        // check
        #expect(exits == [.exited(code: 3), .signaled(signal: SIGKILL), .exited(code: 4), .signaled(signal: SIGKILL)])
    }

    @Test func test_waitForExit_ofManyRunningProcesses_holdsUpNoOtherWait() async throws {
        // setup: sixteen processes waited for, more than the machine has workers. They sleep
        // far longer than the test takes (they are killed at its end): with 5 s, one run in
        // five on a loaded 2-core machine read the quick exit only after some had ended.
        let sleepers = try (0..<16).map { _ in try spawn("sleep 60") }
        let waits = sleepers.map { pid in Task { await ProcessLauncher.waitForExit(of: pid) } }
        // act: a process that exits at once
        let quick = await ProcessLauncher.waitForExit(of: try spawn("exit 7"))
        // check: its exit was read while the others still ran (a worker blocked in waitpid per
        // sleeper left its wait queued until they ended)
        let stillRunning = sleepers.filter(ProcessLauncher.isAlive).count
        for pid in sleepers { kill(pid, SIGKILL) }
        for wait in waits { _ = await wait.value }
        #expect(quick == .exited(code: 7))
        #expect(stillRunning == 16)
    }
}
