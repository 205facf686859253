import Foundation

/// Storage classes, hottest first: SSD next to the trainers, NFS, object storage.
public enum StorageTier: String, CaseIterable, Sendable, Codable, Comparable {
    case hot, warm, cold

    public static func < (lhs: StorageTier, rhs: StorageTier) -> Bool {
        allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }
}

/// Monthly price per GiB of each tier, in the administrator's currency.
public struct TierPrices: Sendable, Equatable, Codable {
    public var perGiBMonth: [StorageTier: Double]

    /// List prices of the usual cloud classes: SSD block storage, NFS file storage, S3-IA.
    public static let standard = TierPrices(perGiBMonth: [.hot: 0.10, .warm: 0.05, .cold: 0.0125])

    public init(perGiBMonth: [StorageTier: Double]) {
        self.perGiBMonth = perGiBMonth
    }

    /// `hot=0.10,warm=0.05,cold=0.0125` (tiers left out keep the standard price).
    public static func parse(_ text: String) throws(StorageError) -> TierPrices {
        var prices = standard
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            let (name, value) = entry.splitOnce("=")
            guard let tier = StorageTier(rawValue: name), let price = Double(value), price >= 0, price.isFinite else {
                throw StorageError("tier price '\(entry)' must be tier=price with tier hot, warm or cold and a price >= 0")
            }
            prices.perGiBMonth[tier] = price
        }
        return prices
    }

    func monthlyCost(bytes: Int64, tier: StorageTier) -> Double {
        Double(bytes) / Double(1 << 30) * (perGiBMonth[tier] ?? 0)
    }
}

/// "Versions unused for `unusedDays` days move to `to`." Rules only ever move data colder.
public struct LifecycleRule: Sendable, Equatable, Codable {
    public var unusedDays: Int
    public var to: StorageTier

    public init(unusedDays: Int, to: StorageTier) {
        self.unusedDays = unusedDays
        self.to = to
    }

    /// A rule set is valid when every rule waits at least a day and no two name one tier.
    public static func check(_ rules: [LifecycleRule]) throws(StorageError) {
        guard rules.count <= 10 else { throw StorageError("\(rules.count) lifecycle rules; the limit is 10") }
        for (index, rule) in rules.enumerated() {
            guard (1...36_500).contains(rule.unusedDays) else {
                throw StorageError("rule \(index + 1): unused_days must be 1-36500, got \(rule.unusedDays)")
            }
            guard rule.to != .hot else { throw StorageError("rule \(index + 1): rules move data colder; 'hot' is not a target") }
            if rules[..<index].contains(where: { $0.to == rule.to }) {
                throw StorageError("rule \(index + 1): two rules move data to '\(rule.to.rawValue)'")
            }
        }
    }
}

/// A stored object the lifecycle may move (a training-set version's data).
public struct TieringCandidate: Sendable, Equatable {
    public var id: String
    public var tier: StorageTier
    public var bytes: Int64
    public var lastUsed: Date
    public var pinned: Bool

    public init(id: String, tier: StorageTier, bytes: Int64, lastUsed: Date, pinned: Bool) {
        self.id = id
        self.tier = tier
        self.bytes = bytes
        self.lastUsed = lastUsed
        self.pinned = pinned
    }
}

public struct TierMove: Sendable, Equatable, Codable {
    public var id: String
    public var from: StorageTier
    public var to: StorageTier
    public var bytes: Int64
    public var unusedDays: Int
    public var monthlySaving: Double
}

public enum TieringPlanner {
    /// The moves the rules call for at `now`: each unpinned candidate goes to the coldest
    /// tier whose rule its idle time satisfies, if that is colder than where it is.
    public static func plan(_ candidates: [TieringCandidate], rules: [LifecycleRule], prices: TierPrices, now: Date) -> [TierMove] {
        candidates.compactMap { candidate in
            guard !candidate.pinned else { return nil }
            let idleDays = Int(now.timeIntervalSince(candidate.lastUsed) / 86_400)
            guard let target = rules.filter({ idleDays >= $0.unusedDays }).map(\.to).max(), target > candidate.tier else { return nil }
            let saving = prices.monthlyCost(bytes: candidate.bytes, tier: candidate.tier) - prices.monthlyCost(bytes: candidate.bytes, tier: target)
            return TierMove(id: candidate.id, from: candidate.tier, to: target, bytes: candidate.bytes, unusedDays: idleDays, monthlySaving: saving)
        }
    }
}
