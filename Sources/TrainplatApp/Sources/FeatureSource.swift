import FluentKit
import Foundation
import TrainplatCore

/// Where feature snapshots come from: the embedded SQLite file or a Doris cluster.
final class FeatureSource: Model, @unchecked Sendable {
    static let schema = "feature_sources"

    enum Kind: String, Codable, Sendable, CaseIterable {
        /// The embedded source: a SQLite file (`host` is its absolute path).
        case sqlite
        /// Apache Doris over the MySQL protocol.
        case doris
        /// MySQL or MariaDB (what the tests run against in Doris' place).
        case mysql

        /// Doris' FE query port; MySQL's and MariaDB's own.
        var defaultPort: Int { self == .doris ? 9030 : 3306 }
    }

    @ID(key: .id) var id: UUID?

    @Parent(key: "project_id") var project: Project

    @Field(key: "name") var name: String
    @Field(key: "kind") var kind: Kind
    /// For `sqlite`, the file path; for `doris`, the FE host.
    @Field(key: "host") var host: String
    @OptionalField(key: "port") var port: Int?
    @OptionalField(key: "database") var database: String?
    @OptionalField(key: "username") var username: String?
    /// Sealed with `SecretBox` (AES-256-GCM); never returned by the API.
    @OptionalField(key: "password_secret") var passwordSecret: String?
    @Field(key: "pool_settings") var poolSettings: JSONObject

    @Timestamp(key: "created_at", on: .create) var createdAt: Date?

    init() {}

    /// The SQLAlchemy URL the data plane connects with; never carries the password.
    var connectionURL: String {
        let scheme = kind == .doris ? "doris" : "mysql+pymysql"
        let user = username.map { "\($0)@" } ?? ""
        return "\(scheme)://\(user)\(host):\(port ?? kind.defaultPort)/\(database ?? "")"
    }

    init(projectID: UUID, name: String, kind: Kind, host: String) {
        self.$project.id = projectID
        self.name = name
        self.kind = kind
        self.host = host
        self.poolSettings = [:]
    }
}
