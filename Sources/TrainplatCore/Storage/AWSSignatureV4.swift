import Crypto
import Foundation

/// AWS Signature Version 4 for the few S3-protocol calls the control plane makes itself
/// (STS AssumeRole for scoped task credentials, ListObjectsV2 for usage). MinIO and AWS
/// both accept it. Paths are encoded once, as S3 wants; the STS calls post to `/`, where
/// the other services' double encoding makes no difference.
public struct AWSSignatureV4: Sendable {
    public struct Credentials: Sendable, Equatable {
        public var accessKeyID: String
        public var secretAccessKey: String
        /// Set for temporary credentials; sent as `x-amz-security-token`.
        public var sessionToken: String?

        public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
        }
    }

    /// A request to sign, with its path and query unencoded: the signer encodes them the one
    /// way the signature covers, so the URL sent and the string signed cannot differ.
    public struct Request: Sendable {
        public var method: String
        /// `scheme://host[:port]`, no path.
        public var endpoint: String
        public var path: String
        public var query: [(name: String, value: String)]
        public var headers: [String: String]
        public var body: Data

        public init(
            method: String, endpoint: String, path: String = "/", query: [(name: String, value: String)] = [],
            headers: [String: String] = [:], body: Data = Data()
        ) {
            self.method = method
            self.endpoint = endpoint
            self.path = path
            self.query = query
            self.headers = headers
            self.body = body
        }
    }

    public var credentials: Credentials
    public var region: String
    public var service: String

    public init(credentials: Credentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The URL to call and every header to send with it, `Authorization` included.
    public func sign(_ request: Request, at date: Date) throws(StorageError) -> (url: String, headers: [String: String]) {
        guard let host = URLComponents(string: request.endpoint).flatMap(Self.hostHeader) else {
            throw StorageError("S3 endpoint '\(request.endpoint)' is not a URL such as http://127.0.0.1:9000")
        }
        let (day, time) = Self.timestamps(date)
        var headers = Dictionary(uniqueKeysWithValues: request.headers.map { ($0.key.lowercased(), $0.value) })
        headers["host"] = host
        headers["x-amz-date"] = time
        if let token = credentials.sessionToken { headers["x-amz-security-token"] = token }
        let payloadHash = ContentHash.sha256(request.body)
        if service == "s3" { headers["x-amz-content-sha256"] = payloadHash }

        let path = Self.encodedPath(request.path)
        let query = request.query.map { (Self.encode($0.name), Self.encode($0.value)) }.sorted { $0 < $1 }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        let names = headers.keys.sorted()
        let canonicalRequest = [
            request.method, path, query,
            names.map { "\($0):\(headers[$0, default: ""].trimmingCharacters(in: .whitespaces))\n" }.joined(),
            names.joined(separator: ";"), payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", time, scope, ContentHash.sha256(canonicalRequest)].joined(separator: "\n")
        let signature = HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey(day: day))
            .map { String(format: "%02x", $0) }.joined()
        headers["authorization"] =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(names.joined(separator: ";")), Signature=\(signature)"
        headers["host"] = nil  // the HTTP client sets it from the URL
        return (request.endpoint + path + (query.isEmpty ? "" : "?" + query), headers)
    }

    private func signingKey(day: String) -> SymmetricKey {
        var key = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return key
    }

    private static func hostHeader(_ url: URLComponents) -> String? {
        guard let host = url.host, !host.isEmpty, url.path.isEmpty || url.path == "/" else { return nil }
        return url.port.map { "\(host):\($0)" } ?? host
    }

    private static func timestamps(_ date: Date) -> (day: String, time: String) {
        let parts = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC") ?? .current, from: date)
        let day = String(format: "%04d%02d%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
        return (day, day + String(format: "T%02d%02d%02dZ", parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0))
    }

    private static func encodedPath(_ path: String) -> String {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).map { encode(String($0)) }
        let joined = segments.joined(separator: "/")
        return joined.hasPrefix("/") ? joined : "/" + joined
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters, as SigV4 wants.
    public static func encode(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                encoded.append(Character(Unicode.Scalar(byte)))
            default:
                encoded += String(format: "%%%02X", byte)
            }
        }
        return encoded
    }
}
