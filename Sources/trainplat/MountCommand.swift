import ArgumentParser
import Foundation
import TrainplatApp
import TrainplatCore

/// `trainplat mount …`: check and render mount specs offline, manage saved mounts, usage
/// and quotas through the API, and measure a directory tree as the accounting does.
struct MountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount", abstract: "Storage mounts: validate, render, create, list, delete, usage, quota, du.",
        subcommands: [
            Validate.self, Render.self, Create.self, List.self, Get.self, Delete.self, Usage.self, Quota.self, Tiering.self,
            DiskUsageCommand.self,
        ])

    /// The owner and spec every offline subcommand takes, placed under the configured policy.
    struct OfflineSpec: ParsableArguments {
        @Option(help: "The user the mounts are for (their id).") var user: String
        @Option(help: "The project the mounts are for (its id).") var project: String = "default"
        @Argument(help: "Mounts: source(type):/path[:ro] entries separated by , or ;, or the structured JSON form.") var spec: String

        func placed() throws -> [PlacedMount] {
            let (config, _) = try loadConfig(defaultLogLevel: .error)
            let owner = MountOwner(userID: user, projectID: project)
            do throws(StorageError) {
                var placed: [PlacedMount] = []
                for mount in try MountParser.parse(document: spec) {
                    placed.append(try MountPlacement.place(mount, owner: owner, policy: config.storage.policy))
                }
                return placed
            } catch {
                FileHandle.standardError.write(Data("trainplat: invalid mount spec: \(error.message)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "validate", abstract: "Parse and check a mount spec for a user; print the normalised mounts.")
        @OptionGroup var options: OfflineSpec

        func run() async throws {
            let mounts = try options.placed().map { mount -> JSONValue in
                var fields = mount.spec.structured
                fields["text"] = .string(mount.spec.text)
                fields["placed_root"] = .string(mount.root)
                fields["placed_sub_path"] = .string(mount.subPath)
                fields["read_only"] = .bool(mount.readOnly)
                return .object(fields)
            }
            print(JSONValue.array(mounts).canonicalJSON())
        }
    }

    struct Render: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "render", abstract: "Print the Kubernetes Pod (JSON) a task with these mounts would run as.")
        @OptionGroup var options: OfflineSpec
        @Option(help: "Container image.") var image: String = "python:3.11-slim"
        @Option(help: "Pod name.") var name: String = "trainplat-task"

        func run() async throws {
            let pod = KubernetesVolumes.pod(name: name, image: image, command: ["python", "-m", "trainplat.tasks"], mounts: try options.placed())
            print(pod.canonicalJSON())
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Save a mount in a project; configmap/secret files come from --file NAME=PATH.")
        @OptionGroup var api: APIOptions
        @Option(help: "Project id.") var project: String
        @Option(name: .customLong("file"), help: "A configmap or secret file: NAME=PATH (repeatable).") var files: [String] = []
        @Argument(help: "One mount: source(type):/path[:ro].") var spec: String

        func run() async throws {
            var data: [String: String] = [:]
            for file in files {
                let (name, path) = file.splitOnce("=")
                guard let content = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read '\(path)' for --file \(name)") }
                data[name] = String(decoding: content, as: UTF8.self)
            }
            let body: [String: Any] = data.isEmpty ? ["spec": spec] : ["spec": spec, "data": data]
            try await runClient { printJSON(try await api.client().json("POST", "/api/v1/projects/\(project)/mounts", body: body)) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List a project's saved mounts.")
        @OptionGroup var api: APIOptions
        @Option(help: "Project id.") var project: String

        func run() async throws {
            try await runClient { printJSON(try await api.client().json("GET", "/api/v1/projects/\(project)/mounts")) }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "get", abstract: "One saved mount (secret contents are never returned).")
        @OptionGroup var api: APIOptions
        @Option(help: "Project id.") var project: String
        @Argument(help: "Mount id.") var id: String

        func run() async throws {
            try await runClient { printJSON(try await api.client().json("GET", "/api/v1/projects/\(project)/mounts/\(id)")) }
        }
    }

    struct Tiering: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tiering",
            abstract: "The lifecycle plan: versions due to move, bytes and monthly saving; --apply starts the move as a run.")
        @OptionGroup var api: APIOptions
        @Option(help: "Project id.") var project: String
        @Flag(help: "Start the moves (a storage.move_tier run) instead of only reporting them.") var apply = false

        func run() async throws {
            let path = "/api/v1/projects/\(project)/storage/tiering"
            try await runClient { printJSON(try await api.client().json(apply ? "POST" : "GET", path)) }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a saved mount.")
        @OptionGroup var api: APIOptions
        @Option(help: "Project id.") var project: String
        @Argument(help: "Mount id.") var id: String

        func run() async throws {
            try await runClient { _ = try await api.client().request("DELETE", "/api/v1/projects/\(project)/mounts/\(id)") }
        }
    }

    struct Usage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "usage", abstract: "Storage used by a project and each member, against their quotas.")
        @OptionGroup var api: APIOptions
        @Option(help: "Project id.") var project: String

        func run() async throws {
            try await runClient { printJSON(try await api.client().json("GET", "/api/v1/projects/\(project)/storage")) }
        }
    }

    struct Quota: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "quota", abstract: "Set the project's quota, or a member's with --user (a size: 500Gi, 10G, bytes; --objects for s3).")
        @OptionGroup var api: APIOptions
        @Option(help: "Project id.") var project: String
        @Option(help: "A member's user id; absent: the whole project.") var user: String?
        @Argument(help: "The quota.") var size: String
        @Option(help: "Also the most objects the s3 prefixes may hold; absent: no object quota.") var objects: Int64?

        func run() async throws {
            guard let bytes = Quantities.bytes(size) else { throw ValidationError("'\(size)' is not a size (e.g. 500Gi, 10G)") }
            var body: [String: Any] = ["max_bytes": bytes]
            if let user { body["user_id"] = user }
            if let objects { body["max_objects"] = objects }
            try await runClient { printJSON(try await api.client().json("PUT", "/api/v1/projects/\(project)/storage/quota", body: body)) }
        }
    }

    struct DiskUsageCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "du", abstract: "Bytes and entries below a path, counted as the quota accounting counts them (like du -sb).")
        @Argument(help: "A directory.") var path: String

        func run() async throws {
            do {
                let usage = try DiskUsage.measure(path)
                print("\(usage.bytes)\t\(usage.entries)\t\(path)")
            } catch {
                FileHandle.standardError.write(Data("trainplat: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
