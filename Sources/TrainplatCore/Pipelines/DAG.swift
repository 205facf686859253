/// The dependency graph of a pipeline's tasks (edges from `needs`).
public struct DAG: Sendable {
    public let tasks: [String]
    public let upstream: [String: [String]]
    public let downstream: [String: [String]]

    public init(_ spec: PipelineSpec) {
        self.init(edges: spec.tasks.map { ($0.name, $0.needs) })
    }

    /// `edges` lists each task with the tasks it needs; needs of unknown tasks are ignored.
    public init(edges: [(task: String, needs: [String])]) {
        tasks = edges.map(\.task)
        let known = Set(tasks)
        var upstream: [String: [String]] = .init(minimumCapacity: tasks.count)
        var downstream: [String: [String]] = .init(minimumCapacity: tasks.count)
        for (task, needs) in edges {
            let knownNeeds = needs.filter(known.contains)
            upstream[task] = knownNeeds
            for need in knownNeeds { downstream[need, default: []].append(task) }
        }
        self.upstream = upstream
        self.downstream = downstream
    }

    /// Tasks in an order where each comes after all it needs; nil when there is a cycle.
    public func topologicalOrder() -> [String]? {
        var remaining = upstream.mapValues(\.count)
        var ready = tasks.filter { remaining[$0] == 0 }
        var order: [String] = []
        order.reserveCapacity(tasks.count)
        while let task = ready.popLast() {
            order.append(task)
            for next in downstream[task] ?? [] {
                remaining[next, default: 0] -= 1
                if remaining[next] == 0 { ready.append(next) }
            }
        }
        return order.count == tasks.count ? order : nil
    }

    /// One cycle as a closed path (`["a", "b", "c", "a"]`), or nil when the graph is acyclic.
    public func findCycle() -> [String]? {
        enum Mark { case visiting, done }
        var marks: [String: Mark] = .init(minimumCapacity: tasks.count)
        for start in tasks where marks[start] == nil {
            // Iterative DFS: specs may be deep chains that would overflow a recursive walk.
            // Each frame keeps its task's children, looked up once.
            var stack: [(task: String, children: [String], next: Int)] = [(start, downstream[start] ?? [], 0)]
            marks[start] = .visiting
            while let (task, children, index) = stack.last {
                guard index < children.count else {
                    marks[task] = .done
                    stack.removeLast()
                    continue
                }
                stack[stack.count - 1].next += 1
                let child = children[index]
                switch marks[child] {
                case .visiting:
                    let path = stack.map(\.task)
                    let cycleStart = path.firstIndex(of: child) ?? 0
                    return Array(path[cycleStart...]) + [child]
                case .done: continue
                case nil:
                    marks[child] = .visiting
                    stack.append((child, downstream[child] ?? [], 0))
                }
            }
        }
        return nil
    }

    /// Every task that `task` depends on, directly or transitively.
    public func ancestors(of task: String) -> Set<String> {
        var seen: Set<String> = []
        var frontier = upstream[task] ?? []
        while let next = frontier.popLast() {
            if seen.insert(next).inserted { frontier += upstream[next] ?? [] }
        }
        return seen
    }
}
