import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import TrainplatCore

/// `trainplat demo`: a full pipeline on the embedded defaults, served while it runs.
public enum Demo {
    /// Returns the process exit code: 0 when the run succeeded.
    public static func run(config: AppConfig, exitAfterRun: Bool, logger: Logger) async throws -> Int32 {
        let say: @Sendable (String) -> Void = { line in FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
        let app = try TrainplatApp(config: config, logger: logger)
        do {
            try await app.metadata.migrate()
            let started = try await DemoSetup(config: config, database: app.database, say: say).prepare()
            say("run \(try started.run.requireID().uuidString.lowercased()) started; following its tasks (Ctrl-C stops the server)")
            let outcome = DemoOutcome()
            let follower = DemoFollower(
                database: app.database, runID: try started.run.requireID(),
                apiURL: { "http://\(config.host):\(app.boundPort.value)" }, say: say, outcome: outcome)
            let server = app.buildApplication()
            let group = ServiceGroup(configuration: .init(
                services: [
                    .init(service: server),
                    .init(service: follower, successTerminationBehavior: exitAfterRun ? .gracefullyShutdownGroup : .ignore),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
            try await group.run()
            await app.metadata.shutdown()
            return outcome.value == .succeeded ? 0 : 1
        } catch {
            await app.metadata.shutdown()
            throw error
        }
    }
}

