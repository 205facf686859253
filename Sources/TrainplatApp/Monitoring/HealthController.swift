import Foundation
import Hummingbird

/// `/health` (the process answers), `/ready` (the database answers and is migrated),
/// `/metrics` (Prometheus text format).
struct HealthController {
    let metadata: MetadataDatabase

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("health") { _, _ in JSONResponse(["status": "ok"]) }
        router.get("ready", use: ready)
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: MetricsRegistry.shared.emitToBuffer())))
        }
    }

    @Sendable func ready(request: Request, context: AppRequestContext) async throws -> JSONResponse<[String: String]> {
        guard await metadata.isMigrated() else {
            return JSONResponse(["status": "not ready", "reason": "metadata database unreachable or not migrated"], status: .serviceUnavailable)
        }
        return JSONResponse(["status": "ready"])
    }
}
