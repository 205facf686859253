import Foundation

/// Slows password guessing: after `maxFailures` failed logins for one username within
/// `window`, further attempts get 429 until the oldest failure leaves the window.
final class LoginThrottle: @unchecked Sendable {
    let maxFailures: Int
    let window: TimeInterval
    private var failures: [String: [Date]] = [:]
    private let lock = NSLock()

    init(maxFailures: Int = 5, window: TimeInterval = 300) {
        self.maxFailures = maxFailures
        self.window = window
    }

    /// Seconds to wait before trying again, or nil when an attempt is allowed now.
    func retryAfter(username: String, now: Date = Date()) -> Int? {
        lock.withLock {
            let recent = prune(username, now: now)
            guard recent.count >= maxFailures, let oldest = recent.first else { return nil }
            return max(1, Int((oldest.addingTimeInterval(window).timeIntervalSince(now)).rounded(.up)))
        }
    }

    func recordFailure(username: String, now: Date = Date()) {
        lock.withLock {
            // Guessing many different names must not grow memory without bound.
            if failures.count >= Self.maxTrackedNames { forgetExpired(now: now) }
            failures[username] = prune(username, now: now) + [now]
        }
    }

    static let maxTrackedNames = 10_000

    private func forgetExpired(now: Date) {
        failures = failures.filter { $0.value.contains { now.timeIntervalSince($0) < window } }
        if failures.count >= Self.maxTrackedNames { failures.removeAll() }
    }

    func recordSuccess(username: String) {
        lock.withLock { _ = failures.removeValue(forKey: username) }
    }

    private func prune(_ username: String, now: Date) -> [Date] {
        let recent = (failures[username] ?? []).filter { now.timeIntervalSince($0) < window }
        failures[username] = recent.isEmpty ? nil : recent
        return recent
    }
}
