import Foundation

extension DispatchQueue {
    /// `concurrentPerform`, keeping each iteration's value: the values in iteration order.
    static func concurrentMap<Value: Sendable>(_ count: Int, _ work: @Sendable (Int) -> Value) -> [Value] {
        let results = IterationResults<Value>(count: count)
        concurrentPerform(iterations: count) { results.store(work($0), at: $0) }
        return results.values
    }
}

/// One slot per iteration, written from the iterations' threads.
private final class IterationResults<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Value?]

    init(count: Int) {
        slots = Array(repeating: nil, count: count)
    }

    func store(_ value: Value, at index: Int) {
        lock.withLock { slots[index] = value }
    }

    /// Every slot's value; read after `concurrentPerform` returned, when every slot is set.
    var values: [Value] { lock.withLock { slots.compactMap { $0 } } }
}
