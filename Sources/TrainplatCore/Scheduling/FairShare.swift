/// Which ready tasks start now, when slots are scarce. Every free slot goes to the user with
/// the fewest tasks running, then to the one whose active runs have started the fewest tasks
/// so far (both counting this round's picks), and within that user to the task that has
/// waited longest. So one user's 1,000-task run cannot starve another's 3-task run, even
/// with a single slot. Limits per user and per pipeline are never exceeded.
public enum FairShare {
    public struct Candidate: Sendable, Equatable {
        public var id: String
        public var user: String
        public var pipeline: String
        /// The pipeline's own `concurrency:`, if it sets one.
        public var pipelineLimit: Int?
        /// Lower waits longer (e.g. seconds since an epoch).
        public var readySince: Double

        public init(id: String, user: String, pipeline: String, pipelineLimit: Int?, readySince: Double) {
            self.id = id
            self.user = user
            self.pipeline = pipeline
            self.pipelineLimit = pipelineLimit
            self.readySince = readySince
        }
    }

    public struct Occupant: Sendable, Equatable {
        public var user: String
        public var pipeline: String

        public init(user: String, pipeline: String) {
            self.user = user
            self.pipeline = pipeline
        }
    }

    /// Ids to start now, in order, given what already runs.
    /// `served`: per user, how many tasks of their active runs have started (running ones included).
    public static func pick(
        ready: [Candidate], running: [Occupant], served: [String: Int] = [:], globalLimit: Int, perUserLimit: Int?
    ) -> [String] {
        var userLoad = running.reduce(into: [String: Int]()) { $0[$1.user, default: 0] += 1 }
        var served = served
        var pipelineLoad = running.reduce(into: [String: Int]()) { $0[$1.pipeline, default: 0] += 1 }
        var waiting = ready.sorted { $0.readySince < $1.readySince }
        var picked: [String] = []
        var free = globalLimit - running.count
        while free > 0 {
            let eligible = waiting.indices.filter { index in
                let candidate = waiting[index]
                return (userLoad[candidate.user] ?? 0) < (perUserLimit ?? .max)
                    && (pipelineLoad[candidate.pipeline] ?? 0) < (candidate.pipelineLimit ?? .max)
            }
            func priority(_ index: Int) -> (Int, Int) {
                (userLoad[waiting[index].user] ?? 0, served[waiting[index].user] ?? 0)
            }
            // `waiting` is oldest first and `min` keeps the first of equals: ties go to the oldest task.
            guard let chosen = eligible.min(by: { priority($0) < priority($1) }) else { break }
            let candidate = waiting.remove(at: chosen)
            picked.append(candidate.id)
            userLoad[candidate.user, default: 0] += 1
            served[candidate.user, default: 0] += 1
            pipelineLoad[candidate.pipeline, default: 0] += 1
            free -= 1
        }
        return picked
    }
}
