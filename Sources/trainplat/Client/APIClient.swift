import ArgumentParser
import Foundation
import TrainplatApp

/// Where the API is and who calls it: `--api` / TRAINPLAT_API_URL and TRAINPLAT_API_TOKEN
/// (a login token or an API key). The client commands work against any server, local or not.
struct APIOptions: ParsableArguments {
    @Option(name: .customLong("api"), help: "API base URL (default: $TRAINPLAT_API_URL or http://127.0.0.1:8080).")
    var baseURL: String?

    var resolvedBaseURL: String {
        (baseURL ?? ProcessInfo.processInfo.environment["TRAINPLAT_API_URL"] ?? "http://127.0.0.1:8080")
            .trimmingCharacters(in: CharacterSet(charactersIn: "/"))
    }

    func client(authenticated: Bool = true) throws -> APIClient {
        let token = ProcessInfo.processInfo.environment["TRAINPLAT_API_TOKEN"]
        if authenticated, token?.isEmpty != false {
            throw ValidationError("set TRAINPLAT_API_TOKEN to a token from `trainplat login` or an API key")
        }
        guard let url = URL(string: resolvedBaseURL), url.scheme == "http" || url.scheme == "https" else {
            throw ValidationError("--api must be an http(s) URL, got '\(resolvedBaseURL)'")
        }
        return APIClient(baseURL: url, token: authenticated ? token : nil)
    }
}

/// A small JSON client of the REST API. Errors come back as the server's problem+json detail.
struct APIClient {
    let baseURL: URL
    let token: String?

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func request(_ method: String, _ path: String, body: Data? = nil, contentType: String = "application/json") async throws -> Data {
        try await send(method, path, body: body, contentType: contentType).data
    }

    /// The body and the response's headers. `path` may carry a query string.
    func send(
        _ method: String, _ path: String, body: Data? = nil, contentType: String = "application/json"
    ) async throws -> (data: Data, response: OutboundHTTP.Answer) {
        let base = baseURL.absoluteString.hasSuffix("/") ? String(baseURL.absoluteString.dropLast()) : baseURL.absoluteString
        var headers = [("Content-Type", contentType)]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        let answer: OutboundHTTP.Answer
        do {
            answer = try await OutboundHTTP.send(method, base + path, headers: headers, body: body)
        } catch {
            throw Failure(description: "cannot reach \(baseURL.absoluteString): \(error)")
        }
        guard (200..<300).contains(answer.status) else {
            let problem = (try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any]
            let detail = problem?["detail"] as? String ?? String(decoding: answer.body, as: UTF8.self)
            throw Failure(description: "\(method) \(path) failed (\(answer.status)): \(detail)")
        }
        return (answer.body, answer)
    }

    func json(_ method: String, _ path: String, body: [String: Any]? = nil) async throws -> [String: Any] {
        let payload = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        let data = try await request(method, path, body: payload)
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }
}

/// Prints a JSON object as indented, key-sorted JSON.
func printJSON(_ object: Any) {
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) else { return }
    print(String(decoding: data, as: UTF8.self))
}
