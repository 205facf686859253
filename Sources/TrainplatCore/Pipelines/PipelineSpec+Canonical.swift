import Foundation

/// A spec that passed validation, with its canonical form and that form's SHA-256.
public struct ValidatedSpec: Sendable {
    public let spec: PipelineSpec
    public let canonicalJSON: String
    public let contentHash: String
    /// The scheduler's planner for the spec, on the graph its validation built.
    public let planner: RunPlanner

    static func canonicalForm(of spec: PipelineSpec) -> (json: String, hash: String) {
        let json = spec.canonicalJSON()
        return (json, ContentHash.sha256(json))
    }
}

/// A spec's tasks in their canonical order (by name), cut into pieces whose members can be
/// written on separate threads and then joined into the canonical form, byte for byte what
/// writing them in one go gives.
struct CanonicalTasks: Sendable {
    let spec: PipelineSpec
    /// Task positions, sorted by name.
    private let order: [Int]
    /// Where each piece starts in `order`, and where the last ends.
    private let bounds: [Int]

    var pieceCount: Int { bounds.count - 1 }

    /// Below this many tasks a piece is not worth a thread.
    static let tasksPerPiece = 250

    /// `pieces` of about equal size (at least one); `piecesFor(_:)` suits a parallel write.
    init(of spec: PipelineSpec, pieces: Int) {
        self.spec = spec
        let order = CanonicalJSONWriter.positionsByName(spec.tasks, name: \.name)
        let count = max(1, pieces)
        self.order = order
        bounds = (0...count).map { order.count * $0 / count }
    }

    /// Pieces for writing `spec`'s tasks on every thread: several a core, so that a slower
    /// thread holds the join up less, and none smaller than `tasksPerPiece`.
    static func piecesFor(_ spec: PipelineSpec) -> Int {
        min(8 * ProcessInfo.processInfo.activeProcessorCount, spec.tasks.count / tasksPerPiece)
    }

    /// The members (`"name":{...}`) of piece `index`'s tasks.
    func piece(_ index: Int) -> [UInt8] {
        CanonicalJSONWriter.detachedMembers(order[bounds[index]..<bounds[index + 1]].lazy.map { spec.tasks[$0] }, name: \.name) {
            $0.writeCanonical(to: &$1)
        }
    }

    /// The spec's canonical form, its tasks' members being `pieces` (every piece, in order).
    func json(joining pieces: [[UInt8]]) -> String {
        var writer = CanonicalJSONWriter()
        spec.writeCanonical(to: &writer) { writer in
            writer.join(members: pieces, lastKey: order.last.map { spec.tasks[$0].name })
        }
        return writer.text
    }
}

/// The canonical form of a spec: JSON with sorted keys, defaults made explicit, durations in
/// seconds. It is itself a valid spec, so a stored version re-parses to the same `PipelineSpec`,
/// and its SHA-256 is the version's identity: its bytes must never change for a spec that
/// did not (a golden test pins them).
///
/// The spec writes its own fields, in sorted order, straight to the bytes. Building a
/// `JSONValue` tree of dictionaries first and sorting each object's keys was a quarter of
/// validating a 10,000-task spec.
extension PipelineSpec {
    public func canonicalJSON() -> String {
        let tasks = CanonicalTasks(of: self, pieces: 1)
        return tasks.json(joining: [tasks.piece(0)])
    }

    public func contentHash() -> String {
        ValidatedSpec.canonicalForm(of: self).hash
    }

    /// The canonical form as a value, for comparing versions field by field: the canonical
    /// JSON read back, so the two can never disagree.
    func canonicalValue() -> JSONValue {
        // The writer's output is valid JSON; a failure to read it would be a bug, shown as a
        // difference rather than a crash.
        (try? JSONValue.parse(json: canonicalJSON())) ?? .null
    }

    /// Writes every field but the tasks' members, which `writeTasks` writes into their object.
    fileprivate func writeCanonical(to writer: inout CanonicalJSONWriter, writeTasks: (inout CanonicalJSONWriter) -> Void) {
        writer.beginObject()
        if schedule != nil { writer.member("catchup", .string(catchup.rawValue)) }
        if let concurrency { writer.member("concurrency", .int(concurrency)) }
        writer.member("name", .string(name))
        if !params.isEmpty { writer.member("params", byName: params, name: \.name) { $0.writeCanonical(to: &$1) } }
        if let schedule { writer.member("schedule", .string(schedule)) }
        writer.key("tasks")
        writer.beginObject()
        writeTasks(&writer)
        writer.endObject()
        writer.endObject()
    }
}

extension ParamSpec {
    fileprivate func writeCanonical(to writer: inout CanonicalJSONWriter) {
        writer.beginObject()
        if let defaultValue { writer.member("default", defaultValue) }
        writer.member("type", .string(kind.rawValue))
        if !allowed.isEmpty { writer.member("values", strings: allowed) }
        writer.endObject()
    }
}

extension TaskSpec {
    fileprivate func writeCanonical(to writer: inout CanonicalJSONWriter) {
        writer.beginObject()
        writer.member("cache", .bool(cache))
        if let command { writer.member("command", strings: command) }
        if let image { writer.member("image", .string(image)) }
        if !mounts.isEmpty { writer.member("mounts", .array(mounts.map { .object($0.structured) })) }
        writer.member("needs", strings: needs)
        if let resources = canonicalResources { writer.member("resources", .object(resources)) }
        // Backoff matters only when there are retries; leaving it out keeps `.none` canonical.
        writer.key("retries")
        writer.beginObject()
        if retries.count > 0 { writer.member("backoff", .string(Self.seconds(retries.backoffSeconds))) }
        writer.member("count", .int(retries.count))
        writer.endObject()
        if let timeoutSeconds { writer.member("timeout", .string(Self.seconds(timeoutSeconds))) }
        if let uses { writer.member("uses", .string(uses)) }
        writer.member("when", .string(when.rawValue))
        if !with.isEmpty { writer.member("with", .object(with)) }
        writer.endObject()
    }

    private var canonicalResources: JSONObject? {
        var fields: JSONObject = [:]
        if let cpu = resources.cpu { fields["cpu"] = .string("\(Int((cpu * 1000).rounded()))m") }
        if let memory = resources.memoryBytes { fields["memory"] = .string(String(memory)) }
        if let gpu = resources.gpu { fields["gpu"] = .int(gpu) }
        return fields.isEmpty ? nil : fields
    }

    /// Durations are stored as whole seconds (the parser accepts only whole units).
    private static func seconds(_ value: Double) -> String {
        "\(Int(value.rounded()))s"
    }
}
