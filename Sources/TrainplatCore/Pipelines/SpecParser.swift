import Foundation

/// Turns spec text (YAML or JSON, which is YAML too) into a `PipelineSpec`, collecting every
/// problem with its path and position rather than stopping at the first.
public struct SpecParser {
    public static let maxSpecBytes = 2 << 20
    public static let maxTasks = 20_000

    private var issues: [SpecIssue] = []
    /// Whether to note every node's position by path (`locations`). Only a spec with
    /// graph-level problems needs them, so it is parsed a second time to locate those;
    /// noting them on every parse was a tenth of validating a valid 10,000-task spec.
    private let recordsLocations: Bool

    public init() {
        recordsLocations = false
    }

    private init(recordingLocations: Bool) {
        recordsLocations = recordingLocations
    }

    /// Parses and validates. Throws `SpecValidationError` listing all problems.
    /// `knownPrograms` is the set of built-in `uses` names the data plane provides.
    public static func parse(_ text: String, knownPrograms: Set<String>) throws(SpecValidationError) -> PipelineSpec {
        var parser = SpecParser()
        let spec = parser.parseDocument(text)
        let issues = parser.issues + (spec.map { graphIssues(of: $0, dag: DAG($0), text: text, knownPrograms: knownPrograms) } ?? [])
        guard let spec, issues.isEmpty else { throw SpecValidationError(issues: issues) }
        return spec
    }

    /// `parse`, and the spec's canonical form and hash. The graph is checked on one thread
    /// while the canonical form's tasks are written in pieces on the others: written whole on
    /// a second thread, they took twice as long as the check. The graph built for the check
    /// comes back in the spec's planner.
    public static func validate(_ text: String, knownPrograms: Set<String>) throws(SpecValidationError) -> ValidatedSpec {
        var parser = SpecParser()
        guard let spec = parser.parseDocument(text) else { throw SpecValidationError(issues: parser.issues) }
        let canonical = CanonicalTasks(of: spec, pieces: CanonicalTasks.piecesFor(spec))
        // The check first, so that it starts at once; the pieces fill the threads around it.
        let steps = DispatchQueue.concurrentMap(1 + canonical.pieceCount) { step -> ValidationStep in
            guard step > 0 else {
                let dag = DAG(spec)
                return .graph(RunPlanner(spec: spec, dag: dag), issues: graphIssues(of: spec, dag: dag, text: text, knownPrograms: knownPrograms))
            }
            return .canonicalPiece(canonical.piece(step - 1))
        }
        guard case .graph(let planner, let graphIssues) = steps.first else { preconditionFailure("the graph check is step 0") }
        let issues = parser.issues + graphIssues
        guard issues.isEmpty else { throw SpecValidationError(issues: issues) }
        let json = canonical.json(joining: steps.dropFirst().map { step in
            guard case .canonicalPiece(let bytes) = step else { preconditionFailure("steps after 0 are pieces") }
            return bytes
        })
        return ValidatedSpec(spec: spec, canonicalJSON: json, contentHash: ContentHash.sha256(json), planner: planner)
    }

    /// The validator's issues, located in `text` when there are any (a second parse that
    /// records every node's position, which a valid spec never pays for).
    private static func graphIssues(of spec: PipelineSpec, dag: DAG, text: String, knownPrograms: Set<String>) -> [SpecIssue] {
        let validator = SpecValidator(knownPrograms: knownPrograms)
        let issues = validator.issues(in: spec, dag: dag, locations: [:])
        guard !issues.isEmpty else { return [] }
        var locating = SpecParser(recordingLocations: true)
        _ = locating.parseDocument(text)
        return validator.issues(in: spec, dag: dag, locations: locating.locations)
    }

    /// Positions of the nodes seen, by path, so graph-level checks can report lines too.
    private(set) var locations: [String: SpecNode.Position] = [:]

    private mutating func parseDocument(_ text: String) -> PipelineSpec? {
        guard text.utf8.count <= Self.maxSpecBytes else {
            issues.append(SpecIssue(path: "", message: "spec is \(text.utf8.count) bytes; the limit is \(Self.maxSpecBytes)"))
            return nil
        }
        let root: SpecNode?
        do throws(SpecDocumentReader.Problems) {
            root = try SpecDocumentReader.read(text)
        } catch {
            issues += error.all.map { SpecIssue(path: "", message: $0.message, line: $0.position?.line, column: $0.position?.column) }
            return nil
        }
        guard let root, let fields = mapping(root, path: "") else {
            if root == nil { issues.append(SpecIssue(path: "", message: "spec is empty")) }
            return nil
        }
        defer { Self.freeInBackground(root) }
        return parseRoot(fields)
    }

    /// Lets another thread free the document's tree (a node per value) once the spec is
    /// read from it: on the caller's thread, that was a twentieth of validating a
    /// 10,000-task spec, with the other core idle.
    private static func freeInBackground(_ root: SpecNode) {
        DispatchQueue.global(qos: .utility).async { withExtendedLifetime(root) {} }
    }

    private mutating func parseRoot(_ fields: Fields) -> PipelineSpec? {
        rejectUnknownKeys(fields, allowed: ["name", "description", "params", "schedule", "catchup", "concurrency", "tasks"], path: "")
        let name = requiredString(fields["name"], path: "name") ?? ""
        if !name.isEmpty, !SpecNames.isIdentifier(name) {
            issue("name", "pipeline name '\(name)' must start with a letter and use only letters, digits, '_' and '-' (max 63)", fields["name"])
        }
        let params = fields["params"].flatMap { mapping($0, path: "params") }.map { parseParams($0) } ?? []
        let schedule = fields["schedule"].flatMap { string($0, path: "schedule") }
        if let schedule, let problem = CronExpression.problem(in: schedule) { issue("schedule", problem, fields["schedule"]) }
        let concurrency = fields["concurrency"].flatMap { positiveInt($0, path: "concurrency") }
        var catchup = Catchup.skip
        if let node = fields["catchup"], let text = string(node, path: "catchup") {
            if let parsed = Catchup(rawValue: text) { catchup = parsed } else { issue("catchup", "expected skip or backfill, got '\(text)'", node) }
        }
        guard let tasksNode = fields["tasks"] else {
            issues.append(SpecIssue(path: "tasks", message: "required field is missing"))
            return nil
        }
        guard let taskFields = orderedMapping(tasksNode, path: "tasks") else { return nil }
        if taskFields.isEmpty { issue("tasks", "a pipeline needs at least one task", tasksNode) }
        if taskFields.count > Self.maxTasks {
            issue("tasks", "\(taskFields.count) tasks; the limit is \(Self.maxTasks)", tasksNode)
            return nil
        }
        let tasks = parseTasks(taskFields)
        return PipelineSpec(name: name, params: params, schedule: schedule, catchup: catchup, concurrency: concurrency, tasks: tasks)
    }

    private mutating func parseParams(_ fields: Fields) -> [ParamSpec] {
        fields.pairs.sorted { $0.key < $1.key }.compactMap { name, node in
            let path = "params.\(name)"
            guard let body = mapping(node, path: path) else { return nil }
            rejectUnknownKeys(body, allowed: ["type", "default", "values", "description"], path: path)
            if !SpecNames.isIdentifier(name) { issue(path, "parameter name '\(name)' is not a valid identifier", node) }
            guard let kindText = requiredString(body["type"], path: "\(path).type") else { return nil }
            guard let kind = ParamSpec.Kind(rawValue: kindText) else {
                let kinds = ParamSpec.Kind.allCases.map(\.rawValue).joined(separator: ", ")
                issue("\(path).type", "unknown type '\(kindText)' (expected one of \(kinds))", body["type"])
                return nil
            }
            let allowed = body["values"].flatMap { stringList($0, path: "\(path).values") } ?? []
            if kind == .enum, allowed.isEmpty { issue("\(path).values", "an enum parameter needs a non-empty 'values' list", node) }
            let defaultValue = body["default"].map { jsonValue($0) }
            let param = ParamSpec(name: name, kind: kind, defaultValue: defaultValue, allowed: allowed)
            if let defaultValue, let problem = ParamValues.problem(with: defaultValue, for: param) {
                issue("\(path).default", problem, body["default"])
            }
            return param
        }
    }

    private static let taskKeys = [
        "uses", "command", "image", "needs", "with", "retries", "timeout", "resources", "mounts", "cache", "when",
    ]

    /// Tasks are parsed independently of each other, so a large spec's are parsed in parts on
    /// every core (parsing the tasks was a tenth of validating 10,000 of them); each part's
    /// issues and locations join in the spec's order, so the outcome is the same as in one go.
    private mutating func parseTasks(_ fields: [(key: String, value: SpecNode)]) -> [TaskSpec] {
        let partCount = min(4 * ProcessInfo.processInfo.activeProcessorCount, fields.count / Self.tasksPerPart)
        guard partCount > 1 else { return fields.compactMap { parseTask(name: $0.key, node: $0.value) } }
        let recordsLocations = recordsLocations
        let parts = DispatchQueue.concurrentMap(partCount) { part in
            var parser = SpecParser(recordingLocations: recordsLocations)
            let range = fields.count * part / partCount..<fields.count * (part + 1) / partCount
            let tasks = fields[range].compactMap { parser.parseTask(name: $0.key, node: $0.value) }
            return (tasks, parser.issues, parser.locations)
        }
        var tasks: [TaskSpec] = []
        tasks.reserveCapacity(fields.count)
        for (partTasks, partIssues, partLocations) in parts {
            tasks += partTasks
            issues += partIssues
            locations.merge(partLocations) { first, _ in first }
        }
        return tasks
    }

    /// Below this many tasks a part is not worth a thread.
    private static let tasksPerPart = 500

    private mutating func parseTask(name: String, node: SpecNode) -> TaskSpec? {
        let path = "tasks.\(name)"
        if !SpecNames.isIdentifier(name) {
            issue(path, "task name '\(name)' must start with a letter and use only letters, digits, '_' and '-' (max 63)", node)
        }
        guard let fields = mapping(node, path: path) else { return nil }
        rejectUnknownKeys(fields, allowed: Self.taskKeys, path: path)
        var task = TaskSpec(name: name)
        task.uses = fields["uses"].flatMap { string($0, path: "\(path).uses") }
        task.command = fields["command"].flatMap { stringList($0, path: "\(path).command", splitScalar: false) }
        task.image = fields["image"].flatMap { string($0, path: "\(path).image") }
        if task.uses == nil, task.command == nil { issue(path, "a task needs either 'uses' or 'command'", node) }
        if task.uses != nil, task.command != nil { issue(path, "'uses' and 'command' are exclusive", node) }
        task.needs = fields["needs"].flatMap { stringList($0, path: "\(path).needs") } ?? []
        if let withNode = fields["with"], let args = mapping(withNode, path: "\(path).with") {
            task.with = Dictionary(args.pairs.map { ($0.key, jsonValue($0.value)) }, uniquingKeysWith: { first, _ in first })
        }
        task.retries = fields["retries"].flatMap { parseRetries($0, path: "\(path).retries") } ?? .none
        task.timeoutSeconds = fields["timeout"].flatMap { duration($0, path: "\(path).timeout") }
        task.resources = fields["resources"].flatMap { parseResources($0, path: "\(path).resources") } ?? .init()
        task.mounts = fields["mounts"].map { parseMounts($0, path: "\(path).mounts") } ?? []
        task.cache = fields["cache"].flatMap { bool($0, path: "\(path).cache") } ?? false
        if let whenNode = fields["when"], let text = string(whenNode, path: "\(path).when") {
            if let rule = TriggerRule(rawValue: text) {
                task.when = rule
            } else {
                issue("\(path).when", "unknown trigger rule '\(text)' (expected all_success, all_done or one_failed)", whenNode)
            }
        }
        return task
    }

    /// Mounts in Cube-Studio's string form (one string, or a list of them) or the structured
    /// form (list items that are mappings).
    private mutating func parseMounts(_ node: SpecNode, path: String) -> [MountSpec] {
        let items: [(String, SpecNode)]
        if case .sequence(let sequence, _) = node {
            items = sequence.enumerated().map { ("\(path)[\($0.offset)]", $0.element) }
        } else {
            items = [(path, node)]
        }
        var mounts: [MountSpec] = []
        for (itemPath, item) in items {
            do throws(StorageError) {
                mounts += try MountParser.parse(item: jsonValue(item))
            } catch {
                issue(itemPath, error.message, item)
            }
        }
        do throws(StorageError) {
            try MountParser.checkSet(mounts)
        } catch {
            issue(path, error.message, node)
        }
        return mounts
    }

    private mutating func parseRetries(_ node: SpecNode, path: String) -> RetryPolicy? {
        if case .scalar = node {
            return positiveOrZeroInt(node, path: path).map { RetryPolicy(count: $0, backoffSeconds: RetryPolicy.defaultBackoffSeconds) }
        }
        guard let fields = mapping(node, path: path) else { return nil }
        rejectUnknownKeys(fields, allowed: ["count", "backoff"], path: path)
        let count = fields["count"].flatMap { positiveOrZeroInt($0, path: "\(path).count") } ?? 0
        let backoff = fields["backoff"].flatMap { duration($0, path: "\(path).backoff") } ?? RetryPolicy.defaultBackoffSeconds
        return RetryPolicy(count: count, backoffSeconds: backoff)
    }

    private mutating func parseResources(_ node: SpecNode, path: String) -> ResourceRequest? {
        guard let fields = mapping(node, path: path) else { return nil }
        rejectUnknownKeys(fields, allowed: ["cpu", "memory", "gpu"], path: path)
        var request = ResourceRequest()
        if let cpu = fields["cpu"] {
            request.cpu = Quantities.cpuCores(cpu.string ?? "")
            if request.cpu == nil { issue("\(path).cpu", "'\(cpu.string ?? "")' is not a CPU quantity (e.g. 2, 0.5, 500m)", cpu) }
        }
        if let memory = fields["memory"] {
            request.memoryBytes = Quantities.bytes(memory.string ?? "")
            if request.memoryBytes == nil { issue("\(path).memory", "'\(memory.string ?? "")' is not a memory quantity (e.g. 512Mi, 4Gi)", memory) }
        }
        request.gpu = fields["gpu"].flatMap { positiveOrZeroInt($0, path: "\(path).gpu") }
        return request
    }
}

// MARK: - Node readers: each records an issue and returns nil when the node has the wrong shape.

extension SpecParser {
    private mutating func issue(_ path: String, _ message: String, _ node: SpecNode?) {
        issues.append(SpecIssue(path: path, message: message, line: node?.position.line, column: node?.position.column))
    }

    private mutating func record(_ path: @autoclosure () -> String, _ node: SpecNode) {
        guard recordsLocations else { return }
        locations[path()] = node.position
    }

    /// Paths are built only for an issue or a recorded position: building each field's
    /// path up front was a tenth of parsing a valid 10,000-task spec.
    private static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    private mutating func orderedMapping(_ node: SpecNode, path: @autoclosure () -> String) -> [(key: String, value: SpecNode)]? {
        guard case .mapping(let pairs, _) = node else {
            issue(path(), "expected a mapping", node)
            return nil
        }
        // Duplicate keys never get here: SpecDocumentReader reports them.
        var result: [(key: String, value: SpecNode)] = []
        result.reserveCapacity(pairs.count)
        for (keyNode, value) in pairs {
            guard let key = keyNode.string else {
                issue(path(), "keys must be strings", keyNode)
                continue
            }
            record(Self.join(path(), key), value)
            result.append((key, value))
        }
        return result
    }

    private mutating func mapping(_ node: SpecNode, path: @autoclosure () -> String) -> Fields? {
        orderedMapping(node, path: path()).map(Fields.init(pairs:))
    }

    private mutating func rejectUnknownKeys(_ fields: Fields, allowed: [String], path: @autoclosure () -> String) {
        let unknown = fields.pairs.filter { !allowed.contains($0.key) }.sorted { $0.key < $1.key }
        guard !unknown.isEmpty else { return }
        let expected = allowed.sorted().joined(separator: ", ")
        for (key, node) in unknown {
            issue(Self.join(path(), key), "unknown key '\(key)' (expected one of: \(expected))", node)
        }
    }

    private mutating func string(_ node: SpecNode, path: @autoclosure () -> String) -> String? {
        guard case .scalar(let scalar) = node else {
            issue(path(), "expected a string", node)
            return nil
        }
        return scalar.text
    }

    private mutating func requiredString(_ node: SpecNode?, path: @autoclosure () -> String) -> String? {
        guard let node else {
            issues.append(SpecIssue(path: path(), message: "required field is missing"))
            return nil
        }
        return string(node, path: path())
    }

    /// A list of strings; a lone scalar counts as a one-element list (or, for `needs`, a
    /// comma-separated list).
    private mutating func stringList(_ node: SpecNode, path: @autoclosure () -> String, splitScalar: Bool = true) -> [String]? {
        switch node {
        case .scalar(let scalar):
            guard splitScalar else { return [scalar.text] }
            return scalar.text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        case .sequence(let items, _):
            var result: [String] = []
            result.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                guard case .scalar(let scalar) = item else {
                    issue("\(path())[\(index)]", "expected a string", item)
                    continue
                }
                record("\(path())[\(index)]", item)
                result.append(scalar.text)
            }
            return result
        default:
            issue(path(), "expected a list of strings", node)
            return nil
        }
    }

    private mutating func positiveInt(_ node: SpecNode, path: @autoclosure () -> String) -> Int? {
        guard let value = node.int, value >= 1 else {
            issue(path(), "expected a whole number of at least 1, got '\(node.string ?? "?")'", node)
            return nil
        }
        return value
    }

    private mutating func positiveOrZeroInt(_ node: SpecNode, path: @autoclosure () -> String) -> Int? {
        guard let value = node.int, value >= 0 else {
            issue(path(), "expected a whole number of at least 0, got '\(node.string ?? "?")'", node)
            return nil
        }
        return value
    }

    private mutating func bool(_ node: SpecNode, path: @autoclosure () -> String) -> Bool? {
        guard let value = node.bool else {
            issue(path(), "expected true or false, got '\(node.string ?? "?")'", node)
            return nil
        }
        return value
    }

    private mutating func duration(_ node: SpecNode, path: @autoclosure () -> String) -> Double? {
        guard let seconds = Quantities.durationSeconds(node.string ?? "") else {
            issue(path(), "'\(node.string ?? "?")' is not a duration (e.g. 30s, 5m, 2h, 1h30m)", node)
            return nil
        }
        return seconds
    }

    /// YAML scalars keep their resolved type (plain `3` is an int, quoted `"3"` a string).
    private func jsonValue(_ node: SpecNode) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            guard scalar.style == .plain else { return .string(scalar.text) }
            let typed = scalar.yamsNode
            if typed.null != nil { return .null }
            if let value = typed.bool { return .bool(value) }
            if let value = typed.int { return .int(value) }
            if let value = typed.float { return .double(value) }
            return .string(scalar.text)
        case .sequence(let items, _):
            return .array(items.map(jsonValue))
        case .mapping(let pairs, _):
            return .object(Dictionary(pairs.map { ($0.key.string ?? "", jsonValue($0.value)) }, uniquingKeysWith: { first, _ in first }))
        }
    }
}

/// What one step of `validate`'s parallel work produced.
private enum ValidationStep: Sendable {
    case graph(RunPlanner, issues: [SpecIssue])
    case canonicalPiece([UInt8])
}

/// A mapping's fields by key. The parser looks up a fixed handful of keys in each mapping,
/// where a scan of the pairs is cheaper than hashing them into a dictionary (one per task);
/// whatever walks all of a mapping's keys reads `pairs` instead, so a mapping of many keys
/// costs no scan per key. Keys are unique: the document reader refuses duplicates.
private struct Fields {
    let pairs: [(key: String, value: SpecNode)]

    subscript(key: String) -> SpecNode? {
        pairs.first { $0.key == key }?.value
    }
}
