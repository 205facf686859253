import Foundation
import Hummingbird

/// `/openapi.json` (the OpenAPI 3.1 document of every route) and `/docs` (a page that reads
/// it). Both are public: they describe the API, they hold no data.
struct APIDocsController {
    let document: ByteBuffer
    let page: ByteBuffer

    init() throws {
        func resource(_ name: String, _ ext: String) throws -> ByteBuffer {
            guard let url = Bundle.module.url(forResource: name, withExtension: ext) else {
                throw ConfigError(variable: "(bundle)", value: "\(name).\(ext)", expected: "the resource built into the binary")
            }
            return ByteBuffer(data: try Data(contentsOf: url))
        }
        document = try resource("openapi", "json")
        page = try resource("docs", "html")
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("openapi.json") { [document] _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: document))
        }
        router.get("docs") { [page] _, _ in
            // Inline script and style of this one page, and a fetch of /openapi.json; nothing else.
            let policy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'"
            return Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8", .contentSecurityPolicy: policy], body: .init(byteBuffer: page))
        }
    }
}
