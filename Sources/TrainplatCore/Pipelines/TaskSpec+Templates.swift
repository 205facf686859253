import Foundation

extension TaskSpec {
    /// Every string of the task that holds a template (`{{`), with its path in the spec: the
    /// command's items and the strings inside `with`. A string without `{{` has neither
    /// references nor template errors, and most have none: its path is not built.
    public var templateTexts: [(path: String, text: String)] {
        var texts: [(path: String, text: String)] = []
        for (index, item) in (command ?? []).enumerated() where Template.mayHoldTemplate(item) {
            texts.append((path: "tasks.\(name).command[\(index)]", text: item))
        }
        for (key, value) in with.sorted(by: { $0.key < $1.key }) {
            texts += Self.templates(in: value) { "tasks.\(name).with.\(key)" }
        }
        return texts
    }

    /// The tasks whose outputs this task's templates read. The runner loads only their
    /// outputs, not every ancestor's: a step of a 1,000-task chain used to read all the
    /// tasks before it. Malformed templates are the validator's to report; none is stored.
    public var referencedTasks: Set<String> {
        var tasks: Set<String> = []
        for (_, text) in templateTexts {
            for case .taskOutput(let task, _) in (try? Template.references(in: text)) ?? [] { tasks.insert(task) }
        }
        return tasks
    }

    /// The strings inside `value` that hold a template, with their paths (built only for those).
    private static func templates(in value: JSONValue, path: () -> String) -> [(path: String, text: String)] {
        switch value {
        case .string(let text): Template.mayHoldTemplate(text) ? [(path(), text)] : []
        case .array(let items): items.enumerated().flatMap { item in templates(in: item.element) { "\(path())[\(item.offset)]" } }
        case .object(let fields): fields.sorted { $0.key < $1.key }.flatMap { field in templates(in: field.value) { "\(path()).\(field.key)" } }
        default: []
        }
    }
}
