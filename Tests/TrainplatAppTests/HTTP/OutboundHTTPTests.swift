import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import TrainplatApp

@Suite("OutboundHTTP: the control plane's and the CLI's HTTP calls")
struct OutboundHTTPTests {
    /// A live server on a free port: /echo answers the method, a header and the body back.
    private func withServer(_ body: @Sendable (_ base: String) async throws -> Void) async throws {
        let router = Router()
        router.on("/echo", method: .put) { request, _ -> Response in
            let sent = try await request.body.collect(upTo: 1 << 20)
            var headers = HTTPFields()
            if let seen = HTTPField.Name("X-Seen-Token") { headers[seen] = request.headers[.authorization] ?? "none" }
            return Response(status: .accepted, headers: headers, body: .init(byteBuffer: sent))
        }
        try await Application(router: router).test(.live) { client in
            let port = try #require(client.port)
            try await body("http://127.0.0.1:\(port)")
        }
    }

    @Test func test_send_returnsTheStatusHeadersAndBody() async throws {
        try await withServer { base in
            let answer = try await OutboundHTTP.send(
                "PUT", base + "/echo", headers: [("Authorization", "Bearer t")], body: Data("hello".utf8))
            #expect(answer.status == 202)
            #expect(answer.header("x-seen-token") == "Bearer t")
            #expect(String(decoding: answer.body, as: UTF8.self) == "hello")
        }
    }

    @Test func test_send_refusesAnAnswerOverTheLimit_andNamesIt() async throws {
        try await withServer { base in
            let error = await #expect(throws: OutboundHTTP.Failure.self) {
                _ = try await OutboundHTTP.send("PUT", base + "/echo", body: Data(repeating: 65, count: 2048), maxBodyBytes: 1024)
            }
            #expect(error?.description.contains("over the limit of 1024 bytes") == true, "\(String(describing: error))")
        }
    }

    /// Refused is an answer, not a reason to retry until the deadline (a CLI command against
    /// a stopped server waited its whole timeout).
    @Test func test_send_toAClosedPort_failsAtOnceWithTheReason() async throws {
        let started = ContinuousClock.now
        let error = await #expect(throws: OutboundHTTP.Failure.self) {
            _ = try await OutboundHTTP.send("GET", "http://127.0.0.1:9/", timeout: .seconds(120))
        }
        #expect(error?.description.lowercased().contains("refused") == true, "\(String(describing: error))")
        #expect(ContinuousClock.now - started < .seconds(60))
    }
}
