/// A validated pipeline definition: the parsed form of the YAML/JSON spec of design.md.
public struct PipelineSpec: Sendable, Equatable {
    public var name: String
    public var params: [ParamSpec]
    public var schedule: String?
    /// What a schedule does about intervals missed while no scheduler ran.
    public var catchup: Catchup
    public var concurrency: Int?
    /// Tasks in the order the spec lists them.
    public var tasks: [TaskSpec]

    public init(
        name: String, params: [ParamSpec] = [], schedule: String? = nil, catchup: Catchup = .skip, concurrency: Int? = nil,
        tasks: [TaskSpec]
    ) {
        self.name = name
        self.params = params
        self.schedule = schedule
        self.catchup = catchup
        self.concurrency = concurrency
        self.tasks = tasks
    }

    public func task(named name: String) -> TaskSpec? {
        tasks.first { $0.name == name }
    }
}

public enum Catchup: String, Sendable, Equatable, Codable, CaseIterable {
    /// Run only the latest missed interval.
    case skip
    /// Run every missed interval, oldest first (at most `maxBackfill` of them).
    case backfill

    public static let maxBackfill = 50
}

public struct ParamSpec: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case string, int, float, bool, datetime, `enum`
    }

    public var name: String
    public var kind: Kind
    public var defaultValue: JSONValue?
    /// The allowed values of an `enum` parameter.
    public var allowed: [String]

    public init(name: String, kind: Kind, defaultValue: JSONValue? = nil, allowed: [String] = []) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.allowed = allowed
    }

    public var isRequired: Bool { defaultValue == nil }
}

public struct TaskSpec: Sendable, Equatable {
    public var name: String
    /// A built-in task program of the data plane (`doris.extract`), or nil when `command` is set.
    public var uses: String?
    public var command: [String]?
    public var image: String?
    public var needs: [String]
    public var with: [String: JSONValue]
    public var retries: RetryPolicy
    public var timeoutSeconds: Double?
    public var resources: ResourceRequest
    public var mounts: [MountSpec]
    public var cache: Bool
    public var when: TriggerRule

    public init(
        name: String, uses: String? = nil, command: [String]? = nil, image: String? = nil,
        needs: [String] = [], with: [String: JSONValue] = [:], retries: RetryPolicy = .none,
        timeoutSeconds: Double? = nil, resources: ResourceRequest = .init(), mounts: [MountSpec] = [],
        cache: Bool = false, when: TriggerRule = .allSuccess
    ) {
        self.name = name
        self.uses = uses
        self.command = command
        self.image = image
        self.needs = needs
        self.with = with
        self.retries = retries
        self.timeoutSeconds = timeoutSeconds
        self.resources = resources
        self.mounts = mounts
        self.cache = cache
        self.when = when
    }
}

public struct RetryPolicy: Sendable, Equatable, Codable {
    public var count: Int
    public var backoffSeconds: Double

    public init(count: Int, backoffSeconds: Double) {
        self.count = count
        self.backoffSeconds = backoffSeconds
    }

    public static let none = RetryPolicy(count: 0, backoffSeconds: 0)
    public static let defaultBackoffSeconds = 10.0

    /// Delay before retry number `attempt` (1-based): exponential, capped at one hour.
    public func delay(beforeRetry attempt: Int) -> Double {
        min(backoffSeconds * Double(1 << min(max(attempt - 1, 0), 20)), 3600)
    }
}

public struct ResourceRequest: Sendable, Equatable, Codable {
    /// Cores, fractional (`500m` is 0.5).
    public var cpu: Double?
    public var memoryBytes: Int64?
    public var gpu: Int?

    public init(cpu: Double? = nil, memoryBytes: Int64? = nil, gpu: Int? = nil) {
        self.cpu = cpu
        self.memoryBytes = memoryBytes
        self.gpu = gpu
    }
}

/// When a task runs, given its upstream tasks' outcomes (Airflow's trigger rules).
public enum TriggerRule: String, Sendable, Equatable, Codable, CaseIterable {
    case allSuccess = "all_success"
    case allDone = "all_done"
    case oneFailed = "one_failed"
}
