/// Graph-level and reference checks over a parsed spec: dependencies, cycles, programs and
/// template references. Shape checks happen in `SpecParser`.
struct SpecValidator {
    let knownPrograms: Set<String>

    /// `dag` is `DAG(spec)`, built by the caller, who may keep it (`SpecParser.validate`).
    func issues(in spec: PipelineSpec, dag: DAG, locations: [String: SpecNode.Position]) -> [SpecIssue] {
        var issues: [SpecIssue] = []
        func add(_ path: String, _ message: String) {
            let mark = locations[path] ?? locations[String(path.split(separator: "[").first ?? "")]
            issues.append(SpecIssue(path: path, message: message, line: mark?.line, column: mark?.column))
        }
        for task in spec.tasks {
            let path = "tasks.\(task.name)"
            if let uses = task.uses, !knownPrograms.contains(uses) {
                add("\(path).uses", "unknown task program '\(uses)' (known: \(knownPrograms.sorted().joined(separator: ", ")))")
            }
            for (index, need) in task.needs.enumerated() {
                if need == task.name {
                    add("\(path).needs[\(index)]", "task '\(task.name)' cannot need itself")
                } else if !dag.contains(need) {
                    add("\(path).needs[\(index)]", "needs unknown task '\(need)'")
                }
            }
        }
        if let cycle = dag.findCycle() {
            add("tasks.\(cycle[0]).needs", "dependency cycle: \(cycle.joined(separator: " -> "))")
            return issues
        }
        let params = Set(spec.params.map(\.name))
        for task in spec.tasks {
            issues += templateIssues(in: task, params: params, dag: dag, locations: locations)
        }
        return issues
    }

    private func templateIssues(in task: TaskSpec, params: Set<String>, dag: DAG, locations: [String: SpecNode.Position]) -> [SpecIssue] {
        let mark = locations["tasks.\(task.name)"]
        var issues: [SpecIssue] = []
        // Ancestors only when a template names a task: computing them for every task of a
        // 10,000-task chain made validation quadratic.
        var ancestors: Set<String>?
        for (path, text) in task.templateTexts {
            do {
                for reference in try Template.references(in: text) {
                    if case .taskOutput = reference, ancestors == nil { ancestors = dag.ancestors(of: task.name) }
                    if let problem = problem(with: reference, params: params, upstream: ancestors ?? []) {
                        issues.append(SpecIssue(path: path, message: problem, line: mark?.line, column: mark?.column))
                    }
                }
            } catch {
                issues.append(SpecIssue(path: path, message: error.message, line: mark?.line, column: mark?.column))
            }
        }
        return issues
    }

    private func problem(with reference: TemplateReference, params: Set<String>, upstream: Set<String>) -> String? {
        switch reference {
        case .param(let name) where !params.contains(name):
            return "template references undefined parameter '\(name)'"
        case .taskOutput(let task, _) where !upstream.contains(task):
            return "template references outputs of '\(task)', which is not upstream of this task (add it to needs)"
        default:
            return nil
        }
    }
}
