import FluentKit
import Foundation
import Hummingbird
import Logging

/// Wires the control plane: database, routes and middleware, scheduler. The one place where
/// dependencies are created and passed in.
public struct TrainplatApp: Sendable {
    public let config: AppConfig
    public let metadata: MetadataDatabase
    /// The port the server bound; tasks get it in TRAINPLAT_API_URL (it differs from the
    /// configured one when that is 0).
    public let boundPort: BoundPort
    let logger: Logger

    public init(config: AppConfig, logger: Logger) throws {
        self.config = config
        self.logger = logger
        _ = MetricsRegistry.shared
        boundPort = BoundPort(config.port)
        metadata = try MetadataDatabase(config: config, logger: logger)
    }

    public var database: any Database { metadata.database }

    public func buildRouter() -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: LogRequestsMiddleware(.debug))
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ProblemMiddleware())
        HealthController(metadata: metadata).addRoutes(to: router)
        let api = router.group("api/v1")
        PipelineController(database: database).addRoutes(to: api.group("pipelines"))
        RunController(database: database).addRoutes(to: api.group("runs"))
        TrainingSetController(database: database).addRoutes(to: api.group("training-set-versions"))
        ModelVersionController(database: database).addRoutes(to: api.group("model-versions"))
        return router
    }

    public func makeScheduler() -> Scheduler {
        Scheduler(database: database, config: config, metrics: SchedulerMetrics(), boundPort: boundPort, logger: logger)
    }

    /// The HTTP server plus the scheduler, as one swift-service-lifecycle application.
    public func buildApplication() -> some ApplicationProtocol {
        Application(
            router: buildRouter(),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "trainplat"),
            services: [makeScheduler()],
            onServerRunning: { [boundPort] channel in boundPort.value = channel.localAddress?.port ?? config.port },
            logger: logger)
    }
}
