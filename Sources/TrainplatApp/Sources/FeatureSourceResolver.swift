import FluentKit
import Foundation
import TrainplatCore

/// Turns `with: {feature_source: NAME}` of a `doris.*` task into the connection arguments the
/// data plane takes, and the source's password into one environment variable of that task's
/// process only: the password never reaches inputs.json, logs or the API.
struct FeatureSourceResolver: Sendable {
    let database: any Database
    let secrets: SecretBox

    static let argument = "feature_source"
    static let passwordVariable = "TRAINPLAT_SOURCE_PASSWORD"

    struct Resolved {
        var arguments: JSONObject
        var environment: [String: String]
    }

    func resolve(_ arguments: JSONObject, uses: String?, projectID: UUID) async throws -> Resolved {
        guard uses?.hasPrefix("doris.") == true, let name = arguments[Self.argument]?.stringValue else {
            return Resolved(arguments: arguments, environment: [:])
        }
        guard let source = try await FeatureSource.query(on: database).filter(\.$project.$id == projectID).filter(\.$name == name).first() else {
            throw TaskContract.ContractError(description: "feature source '\(name)' does not exist in this project")
        }
        var resolved = arguments
        resolved[Self.argument] = nil
        var environment: [String: String] = [:]
        switch source.kind {
        case .sqlite:
            resolved["source"] = .string(source.host)
        case .doris, .mysql:
            resolved["source_url"] = .string(source.connectionURL)
            if let sealed = source.passwordSecret {
                environment[Self.passwordVariable] = try secrets.open(sealed)
                resolved["password_env"] = .string(Self.passwordVariable)
            }
            for (key, value) in source.poolSettings where resolved[key] == nil { resolved[key] = value }
        }
        return Resolved(arguments: resolved, environment: environment)
    }
}
