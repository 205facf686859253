import FluentKit
import Foundation
import Hummingbird
import Logging
import TrainplatCore

/// Wires the control plane: database, routes and middleware, scheduler. The one place where
/// dependencies are created and passed in.
public struct TrainplatApp: Sendable {
    public let config: AppConfig
    public let metadata: MetadataDatabase
    /// The port the server bound; tasks get it in TRAINPLAT_API_URL (it differs from the
    /// configured one when that is 0).
    public let boundPort: BoundPort
    let auth: AuthService
    let audit: AuditLog
    let secrets: SecretBox
    let throttle = LoginThrottle()
    /// Created after the metrics bootstrap: metrics made before it would go nowhere.
    let schedulerMetrics: SchedulerMetrics
    /// Wakes this server's scheduler for a finished attempt or a run started through the API.
    let schedulerWakeup = Wakeup()
    let rateLimiter: RateLimiter
    let apiDocs: APIDocsController
    let logger: Logger

    public init(config: AppConfig, logger: Logger) throws {
        self.config = config
        self.logger = logger
        _ = MetricsRegistry.shared
        schedulerMetrics = SchedulerMetrics()
        boundPort = BoundPort(config.port)
        metadata = try MetadataDatabase(config: config, logger: logger)
        let signer: TokenSigner
        do {
            signer = try TokenSigner(secret: try KeyFile.load(config.tokenSecret, name: "token", config: config))
            secrets = try SecretBox(keyMaterial: try KeyFile.load(config.secretKey, name: "secret", config: config))
        } catch let error as TokenError {
            throw ConfigError(variable: "TRAINPLAT_TOKEN_SECRET", value: "<hidden>", expected: error.description)
        } catch let error as SecretBox.Failure {
            throw ConfigError(variable: "TRAINPLAT_SECRET_KEY", value: "<hidden>", expected: error.description)
        }
        auth = AuthService(
            database: metadata.database, signer: signer, accessTokenLifetime: TimeInterval(config.accessTokenLifetimeSeconds),
            bcryptCost: config.bcryptCost,
            refreshTokens: RefreshTokens(database: metadata.database, lifetime: TimeInterval(config.refreshTokenLifetimeSeconds)))
        audit = AuditLog(database: metadata.database)
        rateLimiter = RateLimiter(perSecond: config.rateLimitPerSecond, burst: max(1, config.rateLimitPerSecond * 2))
        apiDocs = try APIDocsController()
        if let s3 = config.storage.s3, s3.roleARN == nil {
            logger.warning(
                "s3 mounts get the endpoint's own credentials, which reach every owner's prefix; set TRAINPLAT_S3_ROLE_ARN to give each task credentials scoped to its own",
                metadata: ["endpoint": .string(s3.url)])
        }
    }

    /// Migrations, then the first admin when none exists (serve's start-up).
    public func prepare() async throws {
        try await metadata.migrate()
        try await AdminBootstrap.ensureAdmin(config: config, auth: auth, audit: audit)
    }

    public var database: any Database { metadata.database }

    /// Opens the app, runs `body`, and closes the database pools whatever `body` does.
    public static func with<Result: Sendable>(
        config: AppConfig, logger: Logger, _ body: (TrainplatApp) async throws -> Result
    ) async throws -> Result {
        let app = try TrainplatApp(config: config, logger: logger)
        do {
            let result = try await body(app)
            await app.metadata.shutdown()
            return result
        } catch {
            await app.metadata.shutdown()
            throw error
        }
    }

    public func buildRouter() -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: LogRequestsMiddleware(.info))
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: SecurityHeadersMiddleware())
        // Outside the problem middleware, so error answers carry CORS headers too.
        router.add(middleware: CORSPolicyMiddleware(allowedOrigins: Set(config.corsOrigins)))
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: BodySizeLimitMiddleware(maxBytes: SpecParser.maxSpecBytes))
        HealthController(metadata: metadata).addRoutes(to: router)
        apiDocs.addRoutes(to: router)
        let api = router.group("api/v1").add(middleware: AuthMiddleware(auth: auth))
            .add(middleware: RateLimitMiddleware(limiter: rateLimiter))
        let access = ProjectAccess(database: database)
        AuthController(auth: auth, audit: audit, throttle: throttle).addRoutes(to: api.group("auth"))
        UserController(auth: auth, audit: audit).addRoutes(to: api.group("users"))
        APIKeyController(auth: auth, audit: audit, access: access).addRoutes(to: api.group("api-keys"))
        let projects = api.group("projects")
        ProjectController(database: database, access: access, audit: audit).addRoutes(to: projects)
        PipelineController(database: database, access: access, audit: audit, quotas: quotas, wakeup: schedulerWakeup).addRoutes(to: api.group("pipelines"), projects: projects)
        let transitions = TaskTransitions(database: database, metrics: schedulerMetrics)
        RunController(database: database, access: access, transitions: transitions, audit: audit, wakeup: schedulerWakeup, runsDirectory: config.runsDirectory).addRoutes(to: api.group("runs"))
        TrainingSetController(database: database, access: access, audit: audit).addRoutes(to: api.group("training-set-versions"))
        ModelVersionController(database: database, access: access).addRoutes(to: api.group("model-versions"))
        ModelAliasController(database: database, access: access, audit: audit).addRoutes(to: projects)
        FeatureSourceController(database: database, access: access, audit: audit, secrets: secrets, wakeup: schedulerWakeup).addRoutes(to: projects)
        MountController(database: database, access: access, audit: audit, secrets: secrets, storage: config.storage, quotas: quotas)
            .addRoutes(to: projects)
        CurrentVersionController(database: database, access: access, audit: audit).addRoutes(to: projects)
        TieringController(database: database, access: access, audit: audit, service: TieringService(database: database, config: config, wakeup: schedulerWakeup))
            .addRoutes(to: projects)
        AuditController(database: database).addRoutes(to: api.group("audit-events"))
        return router
    }

    var volumes: LocalVolumes { LocalVolumes(config: config) }
    var quotas: StorageQuotas { StorageQuotas(database: database, config: config) }

    public func makeScheduler() -> Scheduler {
        Scheduler(
            database: database, config: config, metrics: schedulerMetrics, boundPort: boundPort, auth: auth,
            sources: FeatureSourceResolver(database: database, secrets: secrets),
            mounts: LocalMounts(database: database, storage: config.storage, volumes: volumes, secrets: secrets), wakeup: schedulerWakeup, logger: logger)
    }

    /// The HTTP server plus the scheduler, as one swift-service-lifecycle application.
    public func buildApplication() -> some ApplicationProtocol {
        Application(
            router: buildRouter(),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "trainplat"),
            services: [
                makeScheduler(),
                StorageMonitor(database: database, quotas: quotas, interval: .seconds(config.storageScanSeconds), logger: logger),
            ],
            onServerRunning: { [boundPort] channel in boundPort.value = channel.localAddress?.port ?? config.port },
            logger: logger)
    }
}
