/// Validation of five-field cron expressions (`minute hour day-of-month month day-of-week`).
public enum CronExpression {
    private static let fieldRanges: [(name: String, range: ClosedRange<Int>)] = [
        ("minute", 0...59), ("hour", 0...23), ("day of month", 1...31), ("month", 1...12),
        ("day of week", 0...7),
    ]

    /// Returns nil when valid, else a message naming the offending field.
    public static func problem(in expression: String) -> String? {
        let fields = expression.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 5 else {
            return "cron expression must have 5 fields (minute hour day month weekday), got \(fields.count)"
        }
        for (field, spec) in zip(fields, fieldRanges) {
            for part in field.split(separator: ",", omittingEmptySubsequences: false) {
                if !isValid(part: String(part), range: spec.range) {
                    return "cron \(spec.name) field '\(field)' is invalid (allowed \(spec.range.lowerBound)-\(spec.range.upperBound), *, ranges a-b, steps /n, lists)"
                }
            }
        }
        return nil
    }

    private static func isValid(part: String, range: ClosedRange<Int>) -> Bool {
        let stepSplit = part.split(separator: "/", omittingEmptySubsequences: false)
        guard stepSplit.count <= 2 else { return false }
        if stepSplit.count == 2 {
            guard let step = Int(stepSplit[1]), step > 0 else { return false }
        }
        let base = stepSplit[0]
        if base == "*" { return true }
        let bounds = base.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
        guard (1...2).contains(bounds.count), bounds.allSatisfy({ $0.map(range.contains) == true }) else {
            return false
        }
        return bounds.count == 1 || (bounds[0] ?? 0) <= (bounds[1] ?? 0)
    }
}
