import Foundation
import TrainplatCore

#if canImport(FoundationXML)
import FoundationXML
#endif

/// The control plane's own calls to the S3-protocol endpoint (MinIO in production, moto in
/// the tests), signed with the administrator's credentials: STS AssumeRole to mint a task's
/// prefix-scoped credentials, and ListObjectsV2 to count what owners store.
struct S3Client: Sendable {
    let endpoint: StorageConfig.S3Endpoint

    /// Temporary credentials that can reach only what `policy` allows (see `S3SessionPolicy`).
    func assumeRole(_ roleARN: String, policy: String, sessionName: String, seconds: Int) async throws(StorageError) -> AWSSignatureV4.Credentials {
        let form = [
            ("Action", "AssumeRole"), ("Version", "2011-06-15"), ("RoleArn", roleARN), ("RoleSessionName", sessionName),
            ("Policy", policy), ("DurationSeconds", String(seconds)),
        ].map { "\(AWSSignatureV4.encode($0.0))=\(AWSSignatureV4.encode($0.1))" }.joined(separator: "&")
        let request = AWSSignatureV4.Request(
            method: "POST", endpoint: endpoint.stsURL, headers: ["Content-Type": "application/x-www-form-urlencoded; charset=utf-8"],
            body: Data(form.utf8))
        let answer = try await send(request, service: "sts", what: "AssumeRole of \(roleARN)")
        guard let key = answer.text("AccessKeyId"), let secret = answer.text("SecretAccessKey"), let token = answer.text("SessionToken") else {
            throw StorageError("AssumeRole of \(roleARN) at \(endpoint.stsURL) answered without credentials")
        }
        return AWSSignatureV4.Credentials(accessKeyID: key, secretAccessKey: secret, sessionToken: token)
    }

    /// Calls `body` with every object's key and size below `prefix`, a page of 1,000 at a time.
    func forEachObject(bucket: String, prefix: String, _ body: (_ key: String, _ size: Int64) -> Void) async throws(StorageError) {
        var continuation: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let continuation { query.append(("continuation-token", continuation)) }
            let page = try await send(
                AWSSignatureV4.Request(method: "GET", endpoint: endpoint.url, path: "/\(bucket)", query: query),
                service: "s3", what: "listing s3://\(bucket)/\(prefix)")
            for (key, size) in zip(page.texts("Key"), page.texts("Size")) { body(key, Int64(size) ?? 0) }
            continuation = page.text("IsTruncated") == "true" ? page.text("NextContinuationToken") : nil
        } while continuation != nil
    }

    private func send(_ request: AWSSignatureV4.Request, service: String, what: String) async throws(StorageError) -> XMLElements {
        let credentials = AWSSignatureV4.Credentials(accessKeyID: endpoint.accessKeyID, secretAccessKey: endpoint.secretAccessKey)
        let (url, headers) = try AWSSignatureV4(credentials: credentials, region: endpoint.region, service: service).sign(request, at: Date())
        let reply: OutboundHTTP.Answer
        do {
            reply = try await OutboundHTTP.send(request.method, url, headers: headers.map { ($0.key, $0.value) }, body: request.body.isEmpty ? nil : request.body)
        } catch {
            throw StorageError("\(what) at \(request.endpoint) failed: \(error)")
        }
        let answer = XMLElements(reply.body)
        guard (200..<300).contains(reply.status) else {
            let reason = [answer.text("Code"), answer.text("Message")].compactMap { $0 }.joined(separator: ": ")
            throw StorageError("\(what) at \(request.endpoint) was refused with HTTP \(reply.status)\(reason.isEmpty ? "" : " (\(reason))")")
        }
        return answer
    }
}

/// The elements of an XML answer in document order with their text: enough for the flat
/// answers of AssumeRole, ListObjectsV2 and S3/STS errors, which nest no repeated names.
struct XMLElements {
    private(set) var elements: [(name: String, text: String)] = []

    init(_ data: Data) {
        let collector = Collector()
        let parser = XMLParser(data: data)
        parser.delegate = collector
        _ = parser.parse()
        elements = collector.elements
    }

    func text(_ name: String) -> String? { elements.first { $0.name == name }?.text }
    func texts(_ name: String) -> [String] { elements.filter { $0.name == name }.map(\.text) }

    private final class Collector: NSObject, XMLParserDelegate {
        var elements: [(name: String, text: String)] = []
        private var text = ""

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            text = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            elements.append((name, text))
            text = ""
        }
    }
}
