import FluentKit
import Foundation
import Hummingbird
import Logging

/// Wires the control plane: database, routes and middleware, scheduler. The one place where
/// dependencies are created and passed in.
public struct TrainplatApp: Sendable {
    public let config: AppConfig
    public let metadata: MetadataDatabase
    let logger: Logger

    public init(config: AppConfig, logger: Logger) throws {
        self.config = config
        self.logger = logger
        _ = MetricsRegistry.shared
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
        Scheduler(database: database, config: config, metrics: SchedulerMetrics(), logger: logger)
    }

    /// The HTTP server plus the scheduler, as one swift-service-lifecycle application.
    /// `onServerRunning` receives the bound port (useful with port 0).
    public func buildApplication(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: buildRouter(),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "trainplat"),
            services: [makeScheduler()],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? config.port) },
            logger: logger)
    }
}
