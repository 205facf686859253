/// The dependency graph of a pipeline's tasks (edges from `needs`).
///
/// Edges are kept by task position, not by name: every name is hashed once, when the graph
/// is built. The name-keyed maps this replaced hashed each name five or six times over,
/// most of checking a 10,000-task spec's graph.
public struct DAG: Sendable {
    public let tasks: [String]
    /// Each task's position in `tasks`.
    private let positions: [String: Int]
    /// By position: the positions of the tasks each task needs (known tasks only) ...
    private let needs: [[Int]]
    /// ... and of the tasks that need it.
    private let neededBy: [[Int]]

    public init(_ spec: PipelineSpec) {
        self.init(edges: spec.tasks.map { ($0.name, $0.needs) })
    }

    /// `edges` lists each task with the tasks it needs; needs of unknown tasks are ignored.
    public init(edges: [(task: String, needs: [String])]) {
        tasks = edges.map(\.task)
        var positions = [String: Int](minimumCapacity: tasks.count)
        for (position, task) in tasks.enumerated() where positions[task] == nil { positions[task] = position }
        let needs = edges.map { $0.needs.compactMap { positions[$0] } }
        var neededBy = [[Int]](repeating: [], count: tasks.count)
        for (position, upstream) in needs.enumerated() {
            for need in upstream { neededBy[need].append(position) }
        }
        self.positions = positions
        self.needs = needs
        self.neededBy = neededBy
    }

    public func contains(_ task: String) -> Bool {
        positions[task] != nil
    }

    /// The tasks that the task at `position` in `tasks` needs.
    public func upstream(at position: Int) -> LazyMapSequence<[Int], String> {
        needs[position].lazy.map { tasks[$0] }
    }

    /// The tasks that `task` needs; none for a task not in the graph.
    public func upstream(of task: String) -> [String] {
        positions[task].map { Array(upstream(at: $0)) } ?? []
    }

    /// Positions of the tasks that need any of `tasks`, ascending, each once.
    public func positionsNeeding(_ tasks: some Sequence<String>) -> [Int] {
        var found: Set<Int> = []
        for task in tasks {
            if let position = positions[task] { found.formUnion(neededBy[position]) }
        }
        return found.sorted()
    }

    /// Tasks in an order where each comes after all it needs; nil when there is a cycle.
    public func topologicalOrder() -> [String]? {
        var remaining = needs.map(\.count)
        var ready = remaining.indices.filter { remaining[$0] == 0 }
        var order: [String] = []
        order.reserveCapacity(tasks.count)
        while let position = ready.popLast() {
            order.append(tasks[position])
            for next in neededBy[position] {
                remaining[next] -= 1
                if remaining[next] == 0 { ready.append(next) }
            }
        }
        return order.count == tasks.count ? order : nil
    }

    /// One cycle as a closed path (`["a", "b", "c", "a"]`), or nil when the graph is acyclic.
    public func findCycle() -> [String]? {
        enum Mark { case unseen, visiting, done }
        var marks = [Mark](repeating: .unseen, count: tasks.count)
        for start in tasks.indices where marks[start] == .unseen {
            // Iterative DFS: specs may be deep chains that would overflow a recursive walk.
            var stack: [(position: Int, next: Int)] = [(start, 0)]
            marks[start] = .visiting
            while let (position, index) = stack.last {
                let children = neededBy[position]
                guard index < children.count else {
                    marks[position] = .done
                    stack.removeLast()
                    continue
                }
                stack[stack.count - 1].next += 1
                let child = children[index]
                switch marks[child] {
                case .visiting:
                    let path = stack.map(\.position)
                    let cycleStart = path.firstIndex(of: child) ?? 0
                    return (path[cycleStart...] + [child]).map { tasks[$0] }
                case .done: continue
                case .unseen:
                    marks[child] = .visiting
                    stack.append((child, 0))
                }
            }
        }
        return nil
    }

    /// Every task that `task` depends on, directly or transitively.
    public func ancestors(of task: String) -> Set<String> {
        guard let position = positions[task] else { return [] }
        var seen = [Bool](repeating: false, count: tasks.count)
        var frontier = needs[position]
        var found: Set<String> = []
        while let next = frontier.popLast() {
            guard !seen[next] else { continue }
            seen[next] = true
            found.insert(tasks[next])
            frontier += needs[next]
        }
        return found
    }
}
