import ArgumentParser
import Foundation
import Logging
import TrainplatApp
import TrainplatCore

/// Every command names itself (`commandName`): a name derived from the type's name costs a
/// scan of the runtime's protocol conformances per command on every start (`--help` took
/// 43 ms of CPU with derived names, 30 ms without; `pipeline validate` of a 10,000-task
/// spec 5% less).
@main
struct Trainplat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trainplat",
        abstract: "The trainplat control plane: API server, scheduler, migrations and the demo.",
        discussion: "Configuration comes from TRAINPLAT_* environment variables (see README.md).",
        subcommands: [Serve.self, Migrate.self, DemoCommand.self, PipelineCommand.self, RunCommand.self, Login.self, DorisCommand.self, MountCommand.self])
}

/// Loads configuration and logging the same way for every subcommand.
func loadConfig(defaultLogLevel: Logger.Level? = nil) throws -> (AppConfig, Logger) {
    var config: AppConfig
    do {
        config = try AppConfig.load()
    } catch let error as ConfigError {
        throw ValidationError(error.description)
    }
    if let defaultLogLevel, ProcessInfo.processInfo.environment["TRAINPLAT_LOG_LEVEL"] == nil {
        config.logLevel = defaultLogLevel
    }
    LogSetup.bootstrap(level: config.logLevel)
    return (config, Logger(label: "trainplat"))
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Migrate the database, then serve the API and run the scheduler.")

    func run() async throws {
        let (config, logger) = try loadConfig()
        try await TrainplatApp.with(config: config, logger: logger) { app in
            try await app.prepare()
            try await app.buildApplication().runService()
        }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply pending database migrations and exit.")

    func run() async throws {
        let (config, logger) = try loadConfig()
        try await TrainplatApp.with(config: config, logger: logger) { try await $0.metadata.migrate() }
        print("migrations applied")
    }
}

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Seed synthetic snapshots and run extract -> training set -> train -> evaluate on the embedded defaults.")

    @Flag(name: .customLong("exit"), help: "Stop after the run instead of serving until Ctrl-C.")
    var exitAfterRun = false

    func run() async throws {
        let (config, logger) = try loadConfig(defaultLogLevel: .warning)
        let code = try await Demo.run(config: config, exitAfterRun: exitAfterRun, logger: logger)
        if code != 0 { throw ExitCode(code) }
    }
}

struct PipelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline", abstract: "Validate specs offline; submit and list pipelines through the API.",
        subcommands: [Validate.self, Submit.self, List.self, Diff.self])

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "validate", abstract: "Validate a pipeline spec file offline (no server needed).")

        @Argument(help: "A YAML or JSON pipeline spec.")
        var file: String

        func run() async throws {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ValidationError("cannot read '\(file)' as UTF-8 text")
            }
            do {
                let valid = try SpecParser.validate(text, knownPrograms: TaskPrograms.builtIn)
                // The scheduler's first pass over a new run: which tasks start at once.
                let starting = valid.planner.startingDecisions().count
                print("\(file): valid pipeline '\(valid.spec.name)' with \(valid.spec.tasks.count) tasks, \(starting) ready at the start (spec hash \(valid.contentHash.prefix(12)))")
                // Ends here, leaving the spec unfreed: freeing 10,000 tasks' values took a
                // tenth of validating them, for memory the process is about to give back.
                Foundation.exit(0)
            } catch {
                FileHandle.standardError.write(Data("\(file): \(error.description)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
