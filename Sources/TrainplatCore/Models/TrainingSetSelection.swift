import Foundation

/// Picking the best training-set version by criteria, with the reason it won and why each
/// other version did not. Pure: the registry feeds it candidates.
public enum TrainingSetSelection {
    public struct Criteria: Sendable, Equatable {
        public var minScore: Double?
        /// The version's data must lie within [from, to].
        public var from: Date?
        public var to: Date?
        /// Quality checks that must have passed (e.g. `label_balance`).
        public var requiredChecks: [String]
        /// Least share of the minority label.
        public var minMinorityShare: Double?

        public init(minScore: Double? = nil, from: Date? = nil, to: Date? = nil, requiredChecks: [String] = [], minMinorityShare: Double? = nil) {
            self.minScore = minScore
            self.from = from
            self.to = to
            self.requiredChecks = requiredChecks
            self.minMinorityShare = minMinorityShare
        }
    }

    public struct Candidate: Sendable, Equatable {
        public var id: String
        public var score: Double?
        public var timeStart: Date?
        public var timeEnd: Date?
        public var createdAt: Date
        /// Check name -> passed.
        public var checks: [String: Bool]
        public var minorityShare: Double?

        public init(
            id: String, score: Double?, timeStart: Date?, timeEnd: Date?, createdAt: Date, checks: [String: Bool], minorityShare: Double?
        ) {
            self.id = id
            self.score = score
            self.timeStart = timeStart
            self.timeEnd = timeEnd
            self.createdAt = createdAt
            self.checks = checks
            self.minorityShare = minorityShare
        }
    }

    public struct Rejection: Sendable, Equatable, Codable {
        public var id: String
        public var reasons: [String]
    }

    public struct Choice: Sendable, Equatable {
        public var winner: Candidate?
        public var reason: String
        public var rejected: [Rejection]
    }

    /// Eligible versions rank by quality score, then by the most recent data, then by the
    /// newest registration.
    public static func best(_ candidates: [Candidate], criteria: Criteria) -> Choice {
        var eligible: [Candidate] = []
        var rejected: [Rejection] = []
        for candidate in candidates {
            let reasons = problems(candidate, criteria)
            if reasons.isEmpty { eligible.append(candidate) } else { rejected.append(Rejection(id: candidate.id, reasons: reasons)) }
        }
        let ranked = eligible.sorted { left, right in
            (left.score ?? -1, left.timeEnd ?? .distantPast, left.createdAt) > (right.score ?? -1, right.timeEnd ?? .distantPast, right.createdAt)
        }
        guard let winner = ranked.first else {
            return Choice(winner: nil, reason: "none of \(candidates.count) versions meets the criteria", rejected: rejected)
        }
        let score = winner.score.map { String(format: "%.2f", $0) } ?? "none"
        let tie = ranked.count > 1 && ranked[1].score == winner.score ? ", ahead of an equal score by more recent data" : ""
        return Choice(
            winner: winner,
            reason: "highest quality score (\(score)) of \(eligible.count) eligible versions\(tie); \(rejected.count) rejected",
            rejected: rejected)
    }

    private static func problems(_ candidate: Candidate, _ criteria: Criteria) -> [String] {
        var reasons: [String] = []
        if let minScore = criteria.minScore, (candidate.score ?? -1) < minScore {
            reasons.append("quality score \(candidate.score.map { String(format: "%.2f", $0) } ?? "none") is below \(minScore)")
        }
        if let from = criteria.from, (candidate.timeStart ?? .distantPast) < from { reasons.append("its data starts before the window") }
        if let to = criteria.to, (candidate.timeEnd ?? .distantFuture) > to { reasons.append("its data ends after the window") }
        for check in criteria.requiredChecks where candidate.checks[check] != true {
            reasons.append(candidate.checks[check] == nil ? "check \(check) was not run" : "check \(check) failed")
        }
        if let least = criteria.minMinorityShare, (candidate.minorityShare ?? 0) < least {
            reasons.append("minority label share \(candidate.minorityShare.map { String(format: "%.3f", $0) } ?? "unknown") is below \(least)")
        }
        return reasons
    }
}
