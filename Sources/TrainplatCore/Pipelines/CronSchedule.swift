import Foundation

/// A parsed five-field cron expression, evaluated in UTC. `CronExpression.problem` validates;
/// this type computes when the schedule fires.
public struct CronSchedule: Sendable, Equatable {
    private let minutes: Set<Int>
    private let hours: Set<Int>
    private let daysOfMonth: Set<Int>
    private let months: Set<Int>
    /// 0 and 7 are both Sunday.
    private let daysOfWeek: Set<Int>
    private let dayOfMonthRestricted: Bool
    private let dayOfWeekRestricted: Bool

    public init?(_ expression: String) {
        guard CronExpression.problem(in: expression) == nil else { return nil }
        let fields = expression.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        minutes = Self.values(fields[0], 0...59)
        hours = Self.values(fields[1], 0...23)
        daysOfMonth = Self.values(fields[2], 1...31)
        months = Self.values(fields[3], 1...12)
        daysOfWeek = Set(Self.values(fields[4], 0...7).map { $0 % 7 })
        dayOfMonthRestricted = fields[2] != "*"
        dayOfWeekRestricted = fields[4] != "*"
    }

    /// The first firing time strictly after `date`, or nil if none within four years.
    public func next(after date: Date) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        // The minute after the one `date` falls in (truncate, then step; never skip a minute).
        var candidate = (calendar.dateInterval(of: .minute, for: date)?.start ?? date).addingTimeInterval(60)
        let limit = date.addingTimeInterval(4 * 366 * 86400)
        while candidate < limit {
            let parts = calendar.dateComponents([.month, .day, .weekday, .hour, .minute], from: candidate)
            guard let month = parts.month, let day = parts.day, let weekday = parts.weekday, let hour = parts.hour, let minute = parts.minute
            else { return nil }
            if !months.contains(month) || !matchesDay(day: day, weekday: weekday - 1) {
                candidate = calendar.startOfDay(for: candidate.addingTimeInterval(86400))
            } else if !hours.contains(hour) {
                candidate = calendar.dateInterval(of: .hour, for: candidate)?.end ?? candidate.addingTimeInterval(3600)
            } else if !minutes.contains(minute) {
                candidate = candidate.addingTimeInterval(60)
            } else {
                return candidate
            }
        }
        return nil
    }

    /// Cron's rule: when both day fields are restricted, either may match.
    private func matchesDay(day: Int, weekday: Int) -> Bool {
        switch (dayOfMonthRestricted, dayOfWeekRestricted) {
        case (true, true): daysOfMonth.contains(day) || daysOfWeek.contains(weekday)
        case (true, false): daysOfMonth.contains(day)
        case (false, true): daysOfWeek.contains(weekday)
        case (false, false): true
        }
    }

    private static func values(_ field: String, _ range: ClosedRange<Int>) -> Set<Int> {
        var result: Set<Int> = []
        for part in field.split(separator: ",") {
            let pieces = part.split(separator: "/")
            let step = pieces.count == 2 ? Int(pieces[1]) ?? 1 : 1
            let bounds: ClosedRange<Int>
            if pieces[0] == "*" {
                bounds = range
            } else {
                let ends = pieces[0].split(separator: "-").compactMap { Int($0) }
                bounds = (ends.first ?? range.lowerBound)...(ends.count == 2 ? ends[1] : (pieces.count == 2 ? range.upperBound : ends.first ?? range.lowerBound))
            }
            result.formUnion(stride(from: bounds.lowerBound, through: bounds.upperBound, by: step))
        }
        return result
    }
}
