import FluentKit
import Foundation
import TrainplatCore

/// First start: create the first admin from configuration. There is no default password.
enum AdminBootstrap {
    static func ensureAdmin(config: AppConfig, auth: AuthService, audit: AuditLog) async throws {
        guard try await User.query(on: auth.database).filter(\.$isAdmin == true).count() == 0 else { return }
        guard let password = config.adminPassword else {
            throw ConfigError(
                variable: "TRAINPLAT_ADMIN_PASSWORD", value: "<unset>",
                expected: "the first admin's password (at least \(AuthService.minimumPasswordLength) characters): no admin exists yet")
        }
        guard password.count >= AuthService.minimumPasswordLength else {
            throw ConfigError(variable: "TRAINPLAT_ADMIN_PASSWORD", value: "<hidden>", expected: "at least \(AuthService.minimumPasswordLength) characters")
        }
        let admin = User(username: config.adminUsername, passwordHash: try auth.hashPassword(password), isAdmin: true)
        try await admin.create(on: auth.database)
        try await audit.record(actor: nil, action: "user.bootstrap_admin", resource: .init(kind: "user", id: admin.id?.uuidString))
    }
}

/// Key material that configuration may leave unset: then a random key is created once under
/// the data directory (mode 0600) and reused, so tokens and sealed secrets survive restarts.
enum KeyFile {
    static func load(_ configured: Data?, name: String, config: AppConfig) throws -> Data {
        if let configured { return configured }
        if case .sqliteMemory = config.database { return Data(RandomSecret.hex(bytes: 32).utf8) }
        let directory = config.dataDirectory + "/secrets"
        let path = "\(directory)/\(name).key"
        if let existing = FileManager.default.contents(atPath: path), existing.count >= 32 { return existing }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let key = Data(RandomSecret.hex(bytes: 32).utf8)
        guard FileManager.default.createFile(atPath: path, contents: key, attributes: [.posixPermissions: 0o600]) else {
            throw ConfigError(variable: "TRAINPLAT_DATA_DIR", value: config.dataDirectory, expected: "a writable directory (cannot create \(path))")
        }
        return key
    }
}
