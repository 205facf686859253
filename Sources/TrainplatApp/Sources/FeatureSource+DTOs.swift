import Foundation
import TrainplatCore

struct CreateFeatureSourceRequest: Decodable {
    var name: String
    var kind: FeatureSource.Kind
    /// The server's host name, or for `sqlite` the file's absolute path.
    var host: String
    var port: Int?
    var database: String?
    var username: String?
    var password: String?
    /// Connection-pool arguments handed to the data plane (`pool_size`, `pool_max_overflow`,
    /// `connect_timeout_s`, `read_timeout_s`).
    var pool: [String: Int]?
}

struct FeatureSourceDTO: Encodable, Sendable {
    var id: UUID?
    var projectID: UUID
    var name: String
    var kind: FeatureSource.Kind
    var host: String
    var port: Int?
    var database: String?
    var username: String?
    /// Whether a password is stored; the password itself is never returned.
    var hasPassword: Bool
    var pool: JSONObject
    var createdAt: Date?

    init(_ source: FeatureSource) {
        id = source.id
        projectID = source.$project.id
        name = source.name
        kind = source.kind
        host = source.host
        port = source.port
        database = source.database
        username = source.username
        hasPassword = source.passwordSecret != nil
        pool = source.poolSettings
        createdAt = source.createdAt
    }
}

extension CreateFeatureSourceRequest {
    static let poolKeys: Set<String> = ["pool_size", "pool_max_overflow", "connect_timeout_s", "read_timeout_s"]

    /// Every field checked before anything is stored; the first problem names its field.
    func validate() throws {
        func bad(_ field: String, _ expected: String) -> Problem {
            Problem(status: .badRequest, title: "Bad request", detail: "field '\(field)' must be \(expected)")
        }
        guard SpecNames.isIdentifier(name) else { throw bad("name", "a letter then letters, digits, '_' or '-' (max 63)") }
        switch kind {
        case .sqlite:
            guard host.hasPrefix("/"), !host.contains("\0"), !host.split(separator: "/").contains(".."), host.utf8.count <= 1024 else {
                throw bad("host", "the absolute path of the SQLite file, without '..'")
            }
        case .doris, .mysql:
            let hostCharacters = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
            guard !host.isEmpty, host.utf8.count <= 253, host.unicodeScalars.allSatisfy(hostCharacters.contains) else {
                throw bad("host", "a host name or IPv4 address")
            }
            guard (1...65535).contains(port ?? kind.defaultPort) else { throw bad("port", "1-65535") }
            guard let database, SpecNames.isIdentifier(database) else { throw bad("database", "a database name (letters, digits, '_', '-')") }
            if let username, !SpecNames.isIdentifier(username) { throw bad("username", "a user name (letters, digits, '_', '-')") }
        }
        for (key, value) in pool ?? [:] {
            guard Self.poolKeys.contains(key) else { throw bad("pool.\(key)", "one of \(Self.poolKeys.sorted().joined(separator: ", "))") }
            guard (1...3600).contains(value) else { throw bad("pool.\(key)", "1-3600") }
        }
    }
}
