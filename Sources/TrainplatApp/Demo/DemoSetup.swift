import FluentKit
import Foundation
import TrainplatCore

/// The demo's preparation: a working Python data plane, synthetic snapshots in the embedded
/// source, a demo account and project, the demo pipeline registered, and a run started.
struct DemoSetup {
    let config: AppConfig
    let database: any Database
    let auth: AuthService
    let say: @Sendable (String) -> Void

    static let window = (
        start: "2026-01-01T00:00:00Z", trainEnd: "2026-01-22T00:00:00Z", end: "2026-01-29T00:00:00Z"
    )

    struct Started {
        var run: PipelineRun
        var adminPassword: String
        var version: PipelineVersion
        var snapshotRows: String
    }

    func prepare() async throws -> Started {
        try await checkPython()
        let sourcePath = config.dataDirectory + "/sources/demo-snapshots.sqlite"
        let seeded = try await seedSnapshots(into: sourcePath)
        let password = RandomSecret.hex(bytes: 12)
        let (user, project) = try await demoAccount(password: try auth.hashPassword(password))
        try await registerSource(path: sourcePath, projectID: project)
        let specText = try Self.pipelineSpec()
        let registered = try await PipelineService(database: database).register(specText: specText, projectID: project, userID: user)
        say("pipeline '\(registered.pipeline.name)' version \(registered.version.number) (spec \(registered.version.specHash.prefix(12)))")
        let params: [String: JSONValue] = [
            "source": .string(absolutePath(sourcePath)), "train_start": .string(Self.window.start),
            "train_end": .string(Self.window.trainEnd), "eval_end": .string(Self.window.end),
        ]
        let run = try await RunService(database: database).start(versionID: try registered.version.requireID(), params: params, userID: user)
        return Started(run: run, adminPassword: password, version: registered.version, snapshotRows: seeded)
    }

    static func pipelineSpec() throws -> String {
        guard let url = Bundle.module.url(forResource: "demo-pipeline", withExtension: "yaml") else {
            throw DemoError(message: "the demo pipeline spec is missing from the build's resources")
        }
        return try String(contentsOf: url, encoding: .utf8)
    }

    private func checkPython() async throws {
        let result = try await runPython(["-c", "import trainplat.tasks"], log: config.dataDirectory + "/demo-python-check.log")
        guard result == .exited(code: 0) else {
            throw DemoError(message: """
                the Python data plane is not importable with TRAINPLAT_PYTHON=\(config.pythonExecutable) \
                (see \(config.dataDirectory)/demo-python-check.log); run `make venv` or point TRAINPLAT_PYTHON at a Python with `pip install -e python`
                """)
        }
    }

    private func seedSnapshots(into path: String) async throws -> String {
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        say("seeding synthetic feature snapshots into \(path) ...")
        let log = config.dataDirectory + "/demo-seed.log"
        let result = try await runPython([
            "-m", "trainplat.synthetic", "--out", absolutePath(path), "--start", Self.window.start, "--end", Self.window.end,
            "--entities", "500", "--features", "20", "--snapshots-per-entity", "80", "--seed", "7", "--drift", "0.5",
        ], log: log)
        guard result == .exited(code: 0) else {
            throw DemoError(message: "seeding snapshots failed: \(TaskContract.logTail(path: log))")
        }
        let summary = TaskContract.logTail(path: log, lines: 1)
        say("  \(summary)")
        return summary
    }

    private func runPython(_ arguments: [String], log: String) async throws -> ProcessExit {
        try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let pid: Int32
        do {
            pid = try ProcessLauncher.spawn(
                arguments: [config.pythonExecutable] + arguments, environment: ProcessInfo.processInfo.environment,
                directory: FileManager.default.currentDirectoryPath, logPath: log)
        } catch {
            throw DemoError(message: "cannot start Python (TRAINPLAT_PYTHON=\(config.pythonExecutable)): \(error); run `make venv`")
        }
        return await ProcessLauncher.waitForExit(of: pid)
    }

    /// The throwaway admin `demo`, with a fresh random password on every demo start.
    private func demoAccount(password hash: String) async throws -> (user: UUID, project: UUID) {
        let user = try await User.query(on: database).filter(\.$username == "demo").first()
            ?? User(username: "demo", passwordHash: hash, isAdmin: true)
        user.passwordHash = hash
        try await user.save(on: database)
        let userID = try user.requireID()
        if let project = try await Project.query(on: database).filter(\.$name == "demo").first() {
            return (userID, try project.requireID())
        }
        let project = Project(name: "demo")
        try await project.create(on: database)
        try await Membership(userID: userID, projectID: try project.requireID(), role: .owner).create(on: database)
        return (userID, try project.requireID())
    }

    private func registerSource(path: String, projectID: UUID) async throws {
        guard try await FeatureSource.query(on: database).filter(\.$project.$id == projectID).filter(\.$name == "demo").first() == nil
        else { return }
        try await FeatureSource(projectID: projectID, name: "demo", kind: .sqlite, host: absolutePath(path)).create(on: database)
    }

    private func absolutePath(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}

struct DemoError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
