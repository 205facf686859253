import Foundation
import TrainplatCore

/// What administrators configure about storage: the allow-lists of `StoragePolicy` and the
/// S3-protocol endpoint that s3 mounts use (MinIO in production).
public struct StorageConfig: Sendable {
    public struct S3Endpoint: Sendable, Equatable {
        public var url: String
        public var accessKeyID: String
        public var secretAccessKey: String
        public var region: String
        /// The role whose credentials, narrowed by a session policy to the task's own
        /// prefixes, a task gets. Absent: tasks get the credentials above, unscoped (a
        /// single-user setup only; the server warns at start).
        public var roleARN: String?
        /// Where STS listens: MinIO serves it on the S3 endpoint itself.
        public var stsURL: String
        /// The longest session AssumeRole may ask for (the role's MaxSessionDuration on AWS).
        public var maxSessionSeconds = 43_200

        public init(url: String, accessKeyID: String, secretAccessKey: String, region: String = "us-east-1", roleARN: String? = nil, stsURL: String? = nil) {
            self.url = url
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.region = region
            self.roleARN = roleARN
            self.stsURL = stsURL ?? url
        }

        /// A task's session lasts its timeout plus five minutes, or the longest allowed when
        /// it has none; STS accepts no less than 15 minutes.
        func sessionSeconds(taskTimeout: Double?) -> Int {
            let wanted = taskTimeout.map { Int($0.rounded(.up)) + 300 } ?? maxSessionSeconds
            return max(900, min(maxSessionSeconds, wanted))
        }
    }

    public var policy = StoragePolicy()
    public var s3: S3Endpoint?
    public var tierPrices = TierPrices.standard
    /// Where each tier keeps moved data; absent: `$TRAINPLAT_DATA_DIR/tiers/<tier>`.
    public var tierDirectories: [StorageTier: String] = [:]

    public init(policy: StoragePolicy = StoragePolicy(), s3: S3Endpoint? = nil) {
        self.policy = policy
        self.s3 = s3
    }

    /// `TRAINPLAT_HOSTPATH_ROOTS` (`/data:ro,/scratch`), `TRAINPLAT_NFS_EXPORTS`
    /// (`server/export,...`), `TRAINPLAT_S3_BUCKETS`, `TRAINPLAT_S3_ENDPOINT` with
    /// `TRAINPLAT_S3_ACCESS_KEY_ID` / `TRAINPLAT_S3_SECRET_ACCESS_KEY` / `TRAINPLAT_S3_REGION`
    /// / `TRAINPLAT_S3_ROLE_ARN` / `TRAINPLAT_S3_STS_ENDPOINT` / `TRAINPLAT_S3_MAX_SESSION_SECONDS`,
    /// `TRAINPLAT_MAX_MEMORY_MOUNT` (a size), `TRAINPLAT_TIER_PRICES` (`hot=0.10,warm=0.05,cold=0.0125`
    /// per GiB and month), `TRAINPLAT_TIER_DIR_HOT|WARM|COLD`.
    static func load(_ values: [String: String]) throws -> StorageConfig {
        var config = StorageConfig()
        if let text = values["TRAINPLAT_HOSTPATH_ROOTS"] {
            do {
                config.policy.hostPathRoots = try StoragePolicy.hostRoots(text)
            } catch {
                throw ConfigError(variable: "TRAINPLAT_HOSTPATH_ROOTS", value: text, expected: "absolute paths with optional :ro (\(error))")
            }
        }
        config.policy.nfsExports = list(values["TRAINPLAT_NFS_EXPORTS"])
        for export in config.policy.nfsExports {
            do {
                _ = try MountParser.parse(entry: "\(export)(nfs):/mnt")
            } catch {
                throw ConfigError(variable: "TRAINPLAT_NFS_EXPORTS", value: export, expected: "server/export/path (\(error))")
            }
        }
        config.policy.s3Buckets = list(values["TRAINPLAT_S3_BUCKETS"])
        if let text = values["TRAINPLAT_MAX_MEMORY_MOUNT"] {
            guard let bytes = Quantities.bytes(text) else {
                throw ConfigError(variable: "TRAINPLAT_MAX_MEMORY_MOUNT", value: text, expected: "a size such as 8Gi")
            }
            config.policy.maxMemoryBytes = bytes
        }
        if let text = values["TRAINPLAT_TIER_PRICES"] {
            do {
                config.tierPrices = try TierPrices.parse(text)
            } catch {
                throw ConfigError(variable: "TRAINPLAT_TIER_PRICES", value: text, expected: error.message)
            }
        }
        for tier in StorageTier.allCases {
            let variable = "TRAINPLAT_TIER_DIR_\(tier.rawValue.uppercased())"
            if let path = values[variable] {
                guard path.hasPrefix("/") else { throw ConfigError(variable: variable, value: path, expected: "an absolute directory") }
                config.tierDirectories[tier] = path
            }
        }
        if let url = values["TRAINPLAT_S3_ENDPOINT"] {
            guard let key = values["TRAINPLAT_S3_ACCESS_KEY_ID"], let secret = values["TRAINPLAT_S3_SECRET_ACCESS_KEY"] else {
                throw ConfigError(
                    variable: "TRAINPLAT_S3_ENDPOINT", value: url, expected: "TRAINPLAT_S3_ACCESS_KEY_ID and TRAINPLAT_S3_SECRET_ACCESS_KEY set too")
            }
            var endpoint = S3Endpoint(
                url: url, accessKeyID: key, secretAccessKey: secret, region: values["TRAINPLAT_S3_REGION"] ?? "us-east-1",
                roleARN: values["TRAINPLAT_S3_ROLE_ARN"], stsURL: values["TRAINPLAT_S3_STS_ENDPOINT"])
            if let text = values["TRAINPLAT_S3_MAX_SESSION_SECONDS"] {
                guard let seconds = Int(text), (900...604_800).contains(seconds) else {
                    throw ConfigError(variable: "TRAINPLAT_S3_MAX_SESSION_SECONDS", value: text, expected: "whole seconds from 900 to 604800")
                }
                endpoint.maxSessionSeconds = seconds
            }
            config.s3 = endpoint
        }
        return config
    }

    private static func list(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
