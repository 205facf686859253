/// A promotion gate: rules a candidate model version must pass before an alias (`staging`,
/// `production`) may point at it. Metrics are compared by dotted path into the versions'
/// metrics (`evaluation.auc`, `evaluation.windows.earlier.auc`); the incumbent is the version
/// the alias points at now.
public struct GateRule: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// candidate >= threshold
        case atLeast = "at_least"
        /// candidate <= threshold (e.g. `evaluation.forgetting_auc` at most 0.02)
        case atMost = "at_most"
        /// candidate >= incumbent + threshold ("must beat the parent on the newest window")
        case beatsIncumbentBy = "beats_incumbent_by"
        /// incumbent - candidate <= threshold ("loses at most X points on earlier windows")
        case dropsAtMost = "drops_at_most"
    }

    public var metric: String
    public var kind: Kind
    public var threshold: Double

    public init(metric: String, kind: Kind, threshold: Double) {
        self.metric = metric
        self.kind = kind
        self.threshold = threshold
    }
}

/// The gate as stored and exchanged: an object, so database drivers decode it as JSON.
public struct GateRules: Sendable, Equatable, Codable {
    public var rules: [GateRule]

    public init(rules: [GateRule]) {
        self.rules = rules
    }
}

public enum PromotionGate {
    /// Why the candidate may not be promoted; empty when every rule passes. A rule that needs
    /// the incumbent passes when there is none (the first promotion).
    public static func failures(rules: [GateRule], candidate: [String: JSONValue], incumbent: [String: JSONValue]?) -> [String] {
        rules.compactMap { rule in
            guard let value = metric(rule.metric, in: candidate) else {
                return "\(rule.metric): the candidate has no such metric"
            }
            switch rule.kind {
            case .atLeast:
                return value >= rule.threshold ? nil : "\(rule.metric) is \(format(value)), below the required \(format(rule.threshold))"
            case .atMost:
                return value <= rule.threshold ? nil : "\(rule.metric) is \(format(value)), above the allowed \(format(rule.threshold))"
            case .beatsIncumbentBy, .dropsAtMost:
                guard let incumbent else { return nil }
                guard let old = metric(rule.metric, in: incumbent) else { return nil }
                if rule.kind == .beatsIncumbentBy {
                    return value >= old + rule.threshold
                        ? nil : "\(rule.metric) is \(format(value)); it must beat the current \(format(old)) by \(format(rule.threshold))"
                }
                return old - value <= rule.threshold
                    ? nil : "\(rule.metric) dropped from \(format(old)) to \(format(value)), more than the allowed \(format(rule.threshold))"
            }
        }
    }

    /// The number at a dotted path (`evaluation.auc`), if there is one.
    public static func metric(_ path: String, in metrics: [String: JSONValue]) -> Double? {
        var current: JSONValue = .object(metrics)
        for key in path.split(separator: ".") {
            guard let next = current.objectValue?[String(key)] else { return nil }
            current = next
        }
        return current.doubleValue
    }

    private static func format(_ value: Double) -> String {
        String(format: "%.4f", value)
    }
}
