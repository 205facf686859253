import Foundation

/// The port the server actually bound (differs from the configured one when that is 0).
public final class BoundPort: @unchecked Sendable {
    private var port: Int
    private let lock = NSLock()

    init(_ port: Int) { self.port = port }

    public var value: Int {
        get { lock.withLock { port } }
        set { lock.withLock { port = newValue } }
    }
}
