import ArgumentParser
import Foundation

/// Runs a client command body, turning API failures into one line on stderr and exit 1.
func runClient(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let failure as APIClient.Failure {
        FileHandle.standardError.write(Data("trainplat: \(failure.description)\n".utf8))
        throw ExitCode(1)
    }
}

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Log in and print `export TRAINPLAT_API_TOKEN=…` (password from $TRAINPLAT_PASSWORD or the first line of stdin).")

    @OptionGroup var api: APIOptions
    @Option(help: "User name.") var username: String

    func run() async throws {
        let password = ProcessInfo.processInfo.environment["TRAINPLAT_PASSWORD"] ?? readLine(strippingNewline: true) ?? ""
        try await runClient {
            let response = try await api.client(authenticated: false).json("POST", "/api/v1/auth/login", body: ["username": username, "password": password])
            guard let token = response["access_token"] as? String else { throw APIClient.Failure(description: "the server returned no token") }
            print("export TRAINPLAT_API_TOKEN=\(token)")
        }
    }
}

extension PipelineCommand {
    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "submit", abstract: "Register a spec file as a version of its pipeline in a project.")

        @OptionGroup var api: APIOptions
        @Option(help: "Project id.") var project: String
        @Argument(help: "A YAML or JSON pipeline spec.") var file: String

        func run() async throws {
            guard let spec = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read '\(file)'") }
            try await runClient {
                let data = try await api.client().request("POST", "/api/v1/projects/\(project)/pipelines", body: spec, contentType: "application/yaml")
                printJSON((try? JSONSerialization.jsonObject(with: data)) ?? [:])
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the pipelines you can see.")
        @OptionGroup var api: APIOptions

        func run() async throws {
            try await runClient { printJSON(try await api.client().json("GET", "/api/v1/pipelines")) }
        }
    }
}

extension PipelineCommand {
    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "diff", abstract: "What changed between two versions of a pipeline (default: the newest against the one before).")
        @OptionGroup var api: APIOptions
        @Option(help: "The older version number.") var from: Int?
        @Option(help: "The newer version number.") var to: Int?
        @Argument(help: "Pipeline id.") var pipeline: String

        func run() async throws {
            let query = [from.map { "from=\($0)" }, to.map { "to=\($0)" }].compactMap { $0 }.joined(separator: "&")
            try await runClient {
                printJSON(try await api.client().json("GET", "/api/v1/pipelines/\(pipeline)/diff" + (query.isEmpty ? "" : "?\(query)")))
            }
        }
    }
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Start, inspect, cancel and retry runs through the API.",
        subcommands: [Start.self, Show.self, Cancel.self, Retry.self, Log.self])

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "start", abstract: "Start a run of a pipeline (its newest version unless --version).")
        @OptionGroup var api: APIOptions
        @Argument(help: "Pipeline id.") var pipeline: String
        @Option(name: .customLong("param"), help: "A parameter as NAME=VALUE (VALUE parsed as JSON when it is JSON).")
        var params: [String] = []
        @Option(help: "Version number.") var version: Int?

        func run() async throws {
            var values: [String: Any] = [:]
            for param in params {
                guard let equals = param.firstIndex(of: "=") else { throw ValidationError("--param must be NAME=VALUE, got '\(param)'") }
                let text = String(param[param.index(after: equals)...])
                values[String(param[..<equals])] = (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)) ?? text
            }
            var body: [String: Any] = ["params": values]
            if let version { body["version"] = version }
            try await runClient { printJSON(try await api.client().json("POST", "/api/v1/pipelines/\(pipeline)/runs", body: body)) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "A run and its tasks' states.")
        @OptionGroup var api: APIOptions
        @Argument(help: "Run id.") var run: String

        func run() async throws {
            try await runClient {
                let body = try await api.client().json("GET", "/api/v1/runs/\(run)")
                print("run \(run): \(body["status"] as? String ?? "?")")
                for task in body["tasks"] as? [[String: Any]] ?? [] {
                    let name = (task["name"] as? String ?? "?").padding(toLength: 20, withPad: " ", startingAt: 0)
                    let reason = (task["reason"] as? String).map { " — \($0)" } ?? ""
                    print("  \(name) \(task["status"] as? String ?? "?")\(reason)")
                }
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a run.")
        @OptionGroup var api: APIOptions
        @Argument(help: "Run id.") var run: String

        func run() async throws {
            try await runClient { printJSON(try await api.client().json("POST", "/api/v1/runs/\(run)/cancel")) }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "retry", abstract: "Re-run a failed or cancelled run from its unfinished tasks.")
        @OptionGroup var api: APIOptions
        @Argument(help: "Run id.") var run: String

        func run() async throws {
            try await runClient { printJSON(try await api.client().json("POST", "/api/v1/runs/\(run)/retry")) }
        }
    }

    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "log", abstract: "The latest attempt's log of a task (last 256 KiB); --follow prints it as it grows.")
        @OptionGroup var api: APIOptions
        @Flag(help: "Keep printing new lines until the attempt ends (like tail -f).") var follow = false
        @Argument(help: "Run id.") var run: String
        @Argument(help: "Task name.") var task: String

        func run() async throws {
            try await runClient {
                let path = "/api/v1/runs/\(run)/tasks/\(task)/log"
                guard follow else {
                    print(String(decoding: try await api.client().request("GET", path), as: UTF8.self), terminator: "")
                    return
                }
                // The server streams with ?follow=true; polling by offset works through any proxy.
                var offset = 0
                var finished = false
                while true {
                    let (data, response) = try await api.client().send("GET", "\(path)?offset=\(offset)")
                    FileHandle.standardOutput.write(data)
                    offset = Int(response.header("X-Log-Next-Offset") ?? "") ?? offset + data.count
                    if finished { return }
                    finished = response.header("X-Attempt-Finished") == "true"
                    if !finished { try await Task.sleep(for: .seconds(1)) }
                }
            }
        }
    }
}
