import Foundation
import TrainplatCore

/// The control plane's side of the task process contract (design.md, "Contracts"):
/// `inputs.json` in, `outputs.json` and `progress.json` out.
enum TaskContract {
    static let inputsFile = "inputs.json"
    static let outputsFile = "outputs.json"
    static let progressFile = "progress.json"
    /// Larger outputs files are refused: outputs carry values and URIs, never data rows.
    static let maxOutputsBytes = 1 << 20

    /// What a task reported in `outputs.json`.
    struct Outputs: Sendable, Equatable {
        var values: [String: JSONValue]
        var metrics: [String: Double]
        var trainingSetVersion: [String: JSONValue]?
        var modelVersion: [String: JSONValue]?
        var modelEvaluation: [String: JSONValue]?
        /// Training-set versions whose data a `storage.move_tier` task moved: `{id, uri, tier}`.
        var tierMoves: [[String: JSONValue]] = []
        /// `{artifact_hash, alias}`: move the alias to that model version through its gate.
        var modelPromotion: [String: JSONValue]?
    }

    struct ContractError: Error, CustomStringConvertible, Equatable {
        var description: String
    }

    static func writeInputs(
        directory: String, task: String, uses: String?, runID: UUID, logicalTime: Date, arguments: [String: JSONValue]
    ) throws {
        let document: JSONValue = .object([
            "task": .string(task),
            "uses": uses.map(JSONValue.string) ?? .null,
            "run": .object(["id": .string(runID.uuidString.lowercased()), "logical_time": .string(Template.formatTimestamp(logicalTime))]),
            "with": .object(arguments),
        ])
        try writeNew(directory + "/" + inputsFile, bytes: Array(document.canonicalJSON().utf8))
    }

    /// Creates `path` with `bytes`, unsynced. Foundation's `Data.write` syncs every file it
    /// writes to disk, 0.5-0.7 ms here, a fifth of a no-op task's overhead; nothing reads
    /// this file before the process starts, and an attempt whose server died while writing
    /// it never starts (its retry has a directory of its own).
    private static func writeNew(_ path: String, bytes: [UInt8]) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw ContractError(description: "could not create \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw ContractError(description: "could not write \(path): \(String(cString: strerror(errno)))") }
            written += count
        }
    }

    /// Reads at most one byte past the limit rather than asking for the file's size first:
    /// FileManager's attributes look up the owner's and the group's names on every call.
    static func readOutputs(directory: String) throws(ContractError) -> Outputs {
        let path = directory + "/" + outputsFile
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ContractError(description: "the task exited 0 but wrote no \(outputsFile)")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            // Nil at the end of the file: an empty file is read as no bytes, not as an error.
            data = try handle.read(upToCount: maxOutputsBytes + 1) ?? Data()
        } catch {
            throw ContractError(description: "\(outputsFile) could not be read: \(error)")
        }
        if data.count > maxOutputsBytes {
            throw ContractError(description: "\(outputsFile) is over the limit of \(maxOutputsBytes) bytes (outputs carry values and URIs, not data)")
        }
        guard let document = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            throw ContractError(description: "\(outputsFile) is not valid JSON")
        }
        return try parse(document)
    }

    static func parse(_ document: JSONValue) throws(ContractError) -> Outputs {
        guard let root = document.objectValue else { throw ContractError(description: "\(outputsFile) must hold a JSON object") }
        let known: Set<String> = ["outputs", "metrics", "training_set_version", "model_version", "model_evaluation", "tier_moves", "model_promotion"]
        if let unknown = root.keys.sorted().first(where: { !known.contains($0) }) {
            throw ContractError(description: "\(outputsFile): unknown field '\(unknown)' (expected \(known.sorted().joined(separator: ", ")))")
        }
        var metrics: [String: Double] = [:]
        for (name, value) in try object(root["metrics"], field: "metrics") ?? [:] {
            guard let number = value.doubleValue else {
                throw ContractError(description: "\(outputsFile): metrics.\(name) must be a number, got \(value.canonicalJSON())")
            }
            metrics[name] = number
        }
        return Outputs(
            values: try object(root["outputs"], field: "outputs") ?? [:],
            metrics: metrics,
            trainingSetVersion: try object(root["training_set_version"], field: "training_set_version"),
            modelVersion: try object(root["model_version"], field: "model_version"),
            modelEvaluation: try object(root["model_evaluation"], field: "model_evaluation"),
            tierMoves: try objects(root["tier_moves"], field: "tier_moves"),
            modelPromotion: try object(root["model_promotion"], field: "model_promotion"))
    }

    private static func objects(_ value: JSONValue?, field: String) throws(ContractError) -> [[String: JSONValue]] {
        guard let value, value != .null else { return [] }
        guard let items = value.arrayValue else { throw ContractError(description: "\(outputsFile): \(field) must be an array") }
        var objects: [[String: JSONValue]] = []
        for (index, item) in items.enumerated() {
            guard let object = item.objectValue else { throw ContractError(description: "\(outputsFile): \(field)[\(index)] must be an object") }
            objects.append(object)
        }
        return objects
    }

    private static func object(_ value: JSONValue?, field: String) throws(ContractError) -> [String: JSONValue]? {
        guard let value, value != .null else { return nil }
        guard let object = value.objectValue else { throw ContractError(description: "\(outputsFile): \(field) must be an object") }
        return object
    }

    /// The task's latest progress report, if it wrote a readable one.
    static func readProgress(directory: String) -> (fraction: Double, message: String?)? {
        guard let data = FileManager.default.contents(atPath: directory + "/" + progressFile),
            let object = (try? JSONDecoder().decode(JSONValue.self, from: data))?.objectValue,
            let fraction = object["fraction"]?.doubleValue, fraction.isFinite
        else { return nil }
        return (min(max(fraction, 0), 1), object["message"]?.stringValue.map { String($0.prefix(500)) })
    }

    /// The last lines of a log, to say why a process failed without opening the log.
    static func logTail(path: String, lines: Int = 5, maxBytes: Int = 4096) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > UInt64(maxBytes) ? size - UInt64(maxBytes) : 0)
        let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}
