import Foundation
import Testing
@testable import TrainplatApp

@Suite("Configuration")
struct AppConfigTests {
    @Test func test_load_noVariables_usesEmbeddedDefaults() throws {
        // act
        let config = try AppConfig.load(environment: [:])
        // check
        #expect(config.dataDirectory == "./var")
        #expect(config.host == "127.0.0.1")
        #expect(config.port == 8080)
        #expect(config.database == .sqliteFile("./var/trainplat.sqlite"))
    }

    @Test func test_load_postgresURL_switchesDatabase() throws {
        let config = try AppConfig.load(environment: ["TRAINPLAT_DATABASE_URL": "postgres://u:p@127.0.0.1:5432/db"])
        #expect(config.database == .postgres(url: "postgres://u:p@127.0.0.1:5432/db"))
    }

    @Test(arguments: [
        ("TRAINPLAT_PORT", "eighty", "a whole number in 0...65535"),
        ("TRAINPLAT_PORT", "70000", "a whole number in 0...65535"),
        ("TRAINPLAT_DATABASE_URL", "mysql://x@y/z", "postgres://"),
        ("TRAINPLAT_LOG_LEVEL", "loud", "one of trace"),
        ("TRAINPLAT_EXECUTOR", "ray", "'local'"),
        ("TRAINPLAT_MAX_CONCURRENT_TASKS", "0", "1...1024"),
    ])
    func test_load_badValue_namesTheVariableAndExpectation(variable: String, value: String, expected: String) throws {
        let error = #expect(throws: ConfigError.self) { try AppConfig.load(environment: [variable: value]) }
        #expect(error?.variable == variable)
        #expect(error?.description.contains(expected) == true, "\(error?.description ?? "")")
    }

    @Test func test_load_s3Role_setsScopedSessions_boundedByTheTaskTimeout() throws {
        // act
        let config = try AppConfig.load(environment: [
            "TRAINPLAT_S3_ENDPOINT": "http://127.0.0.1:9000", "TRAINPLAT_S3_ACCESS_KEY_ID": "k", "TRAINPLAT_S3_SECRET_ACCESS_KEY": "s",
            "TRAINPLAT_S3_ROLE_ARN": "arn:aws:iam::123456789012:role/tasks", "TRAINPLAT_S3_MAX_SESSION_SECONDS": "7200",
        ])
        // check: STS on the S3 endpoint (MinIO's way); sessions last the timeout plus 5 minutes, within [15 min, max]
        let s3 = try #require(config.storage.s3)
        #expect(s3.roleARN == "arn:aws:iam::123456789012:role/tasks")
        #expect(s3.stsURL == "http://127.0.0.1:9000")
        #expect(s3.sessionSeconds(taskTimeout: 60) == 900)
        #expect(s3.sessionSeconds(taskTimeout: 3000.5) == 3301)
        #expect(s3.sessionSeconds(taskTimeout: 86_400) == 7200)
        #expect(s3.sessionSeconds(taskTimeout: nil) == 7200)
    }

    @Test(arguments: ["600", "1e6", "forever"])
    func test_load_badS3SessionLength_namesTheVariable(value: String) throws {
        let error = #expect(throws: ConfigError.self) {
            try AppConfig.load(environment: [
                "TRAINPLAT_S3_ENDPOINT": "http://127.0.0.1:9000", "TRAINPLAT_S3_ACCESS_KEY_ID": "k", "TRAINPLAT_S3_SECRET_ACCESS_KEY": "s",
                "TRAINPLAT_S3_MAX_SESSION_SECONDS": value,
            ])
        }
        #expect(error?.variable == "TRAINPLAT_S3_MAX_SESSION_SECONDS")
        #expect(error?.description.contains("from 900 to 604800") == true)
    }

    @Test func test_load_badURL_neverShowsThePassword() throws {
        let error = #expect(throws: ConfigError.self) {
            try AppConfig.load(environment: ["TRAINPLAT_DATABASE_URL": "mongodb://user:s3cret@host/db"])
        }
        #expect(error?.description.contains("s3cret") == false)
    }

    @Test func test_load_configFile_isReadAndEnvironmentWins() throws {
        // setup
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("trainplat-\(UUID()).env").path
        try "# comment\nTRAINPLAT_PORT=9000\nTRAINPLAT_DATA_DIR=/srv/tp\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        // act
        let config = try AppConfig.load(environment: ["TRAINPLAT_CONFIG": path, "TRAINPLAT_PORT": "9100"])
        // check
        #expect(config.port == 9100)
        #expect(config.dataDirectory == "/srv/tp")
    }

    @Test func test_load_configFileWithBadLine_namesFileAndLine() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("trainplat-\(UUID()).env").path
        try "TRAINPLAT_PORT=9000\nnonsense\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: ConfigError.self) { try AppConfig.load(environment: ["TRAINPLAT_CONFIG": path]) }
        #expect(error?.value == "\(path):2")
    }
}
