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
        return try await TrainplatApp.with(config: config, logger: logger) { app in
            try await app.metadata.migrate()
            let started = try await DemoSetup(config: config, database: app.database, auth: app.auth, say: say).prepare()
            let runID = try started.run.requireID()
            say("admin login for the API: demo / \(started.adminPassword)  (POST /api/v1/auth/login; a new password each demo)")
            say("run \(runID.uuidString.lowercased()) started; following its tasks (Ctrl-C stops the server)")
            let outcome = DemoOutcome()
            let follower = DemoFollower(
                database: app.database, runID: runID,
                apiURL: { "http://\(config.host):\(app.boundPort.value)" }, say: say, outcome: outcome)
            let group = ServiceGroup(configuration: .init(
                services: [
                    .init(service: app.buildApplication()),
                    .init(service: follower, successTerminationBehavior: exitAfterRun ? .gracefullyShutdownGroup : .ignore),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
            try await group.run()
            return outcome.value == .succeeded ? 0 : 1
        }
    }
}

