import ArgumentParser
import Foundation
import TrainplatApp

/// `trainplat doris preview …`: a quick look at a window of a snapshot source, run by the
/// data plane (`python -m trainplat.doris.preview`); arguments pass through unchanged.
struct DorisCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doris", abstract: "Look at feature-snapshot sources.", subcommands: [Preview.self])

    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "preview",
            abstract: "Print a window of snapshots: --source PATH | --source-url URL [--password-env NAME] --start ISO --end ISO [--limit N] [--feature-keys K ...] [--count]")

        @Argument(parsing: .captureForPassthrough, help: "Arguments of python -m trainplat.doris.preview.")
        var arguments: [String] = []

        func run() async throws {
            let python = ProcessInfo.processInfo.environment["TRAINPLAT_PYTHON"] ?? AppConfig.defaultPython()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [python, "-m", "trainplat.doris.preview"] + arguments
            do {
                try process.run()
            } catch {
                throw ValidationError("cannot run \(python): \(error); set TRAINPLAT_PYTHON or run `make venv`")
            }
            process.waitUntilExit()
            if process.terminationStatus != 0 { throw ExitCode(process.terminationStatus) }
        }
    }
}
