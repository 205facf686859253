import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One outbound HTTP call and its whole answer: the control plane's calls to the S3 endpoint
/// and the CLI's calls to the API. Through AsyncHTTPClient rather than
/// URLSession: on Linux URLSession is FoundationNetworking, which links libcurl and about
/// thirty libraries behind it, and loading them added 11-13 ms to the start of every
/// `trainplat` command (measured on a two-line program, with and without it).
public enum OutboundHTTP {
    public struct Answer: Sendable {
        public let status: Int
        public let headers: HTTPHeaders
        public let body: Data

        /// The first value of a header, by case-insensitive name.
        public func header(_ name: String) -> String? { headers.first(name: name) }
    }

    /// Why a call got no answer: the URL, the connection, the time limit or the size limit.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// One client for the process, never shut down (it lives as long as the process does).
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .follow(max: 5, allowCycles: false), timeout: .init(connect: .seconds(10), read: .seconds(30)))
        // A refused connection is the answer: nothing listens there. By default the pool
        // retries until the request's deadline, which kept a CLI command against a stopped
        // server waiting 30 s instead of failing at once.
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(configuration: configuration)
    }()

    /// Sends one request and reads the whole answer, at most `maxBodyBytes` of it.
    public static func send(
        _ method: String, _ url: String, headers: [(String, String)] = [], body: Data? = nil,
        timeout: TimeAmount = .seconds(30), maxBodyBytes: Int = 64 << 20
    ) async throws(Failure) -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await client.execute(request, timeout: timeout)
            let bytes = try await response.body.collect(upTo: maxBodyBytes)
            return Answer(status: Int(response.status.code), headers: response.headers, body: Data(buffer: bytes))
        } catch let error as NIOTooManyBytesError {
            throw Failure(description: "the answer is over the limit of \(maxBodyBytes) bytes (\(error))")
        } catch {
            throw Failure(description: String(describing: error))
        }
    }
}
