/// The canonical form of a spec: JSON with sorted keys, defaults made explicit, durations in
/// seconds. It is itself a valid spec, so a stored version re-parses to the same `PipelineSpec`,
/// and its SHA-256 is the version's identity.
extension PipelineSpec {
    public func canonicalJSON() -> String {
        canonicalValue().canonicalJSON()
    }

    public func contentHash() -> String {
        ContentHash.sha256(canonicalJSON())
    }

    func canonicalValue() -> JSONValue {
        var root: [String: JSONValue] = [
            "name": .string(name),
            "tasks": .object(Dictionary(uniqueKeysWithValues: tasks.map { ($0.name, $0.canonicalValue()) })),
        ]
        if !params.isEmpty {
            root["params"] = .object(Dictionary(uniqueKeysWithValues: params.map { ($0.name, $0.canonicalValue()) }))
        }
        if let schedule {
            root["schedule"] = .string(schedule)
            root["catchup"] = .string(catchup.rawValue)
        }
        if let concurrency { root["concurrency"] = .int(concurrency) }
        return .object(root)
    }
}

extension ParamSpec {
    func canonicalValue() -> JSONValue {
        var fields: [String: JSONValue] = ["type": .string(kind.rawValue)]
        if let defaultValue { fields["default"] = defaultValue }
        if !allowed.isEmpty { fields["values"] = .array(allowed.map(JSONValue.string)) }
        return .object(fields)
    }
}

extension TaskSpec {
    func canonicalValue() -> JSONValue {
        var fields: [String: JSONValue] = [
            "needs": .array(needs.map(JSONValue.string)),
            "cache": .bool(cache),
            "when": .string(when.rawValue),
        ]
        // Backoff matters only when there are retries; leaving it out keeps `.none` canonical.
        fields["retries"] = .object(retries.count > 0
            ? ["count": .int(retries.count), "backoff": .string(Self.seconds(retries.backoffSeconds))]
            : ["count": .int(0)])
        if let uses { fields["uses"] = .string(uses) }
        if let command { fields["command"] = .array(command.map(JSONValue.string)) }
        if let image { fields["image"] = .string(image) }
        if !with.isEmpty { fields["with"] = .object(with) }
        if let timeoutSeconds { fields["timeout"] = .string(Self.seconds(timeoutSeconds)) }
        if !mounts.isEmpty { fields["mounts"] = .array(mounts.map { .object($0.structured) }) }
        var resourceFields: [String: JSONValue] = [:]
        if let cpu = resources.cpu { resourceFields["cpu"] = .string("\(Int((cpu * 1000).rounded()))m") }
        if let memory = resources.memoryBytes { resourceFields["memory"] = .string(String(memory)) }
        if let gpu = resources.gpu { resourceFields["gpu"] = .int(gpu) }
        if !resourceFields.isEmpty { fields["resources"] = .object(resourceFields) }
        return .object(fields)
    }

    /// Durations are stored as whole seconds (the parser accepts only whole units).
    private static func seconds(_ value: Double) -> String {
        "\(Int(value.rounded()))s"
    }
}
