import Glibc
import Synchronization

/// A fixed set of event loops; new connections are spread over them round-robin.
final class EventLoopGroup: Sendable {
    /// The loops, each with its own thread.
    let loops: [EventLoop]
    private let nextIndex = Atomic<Int>(0)

    /// Creates and starts `count` loops (at least one).
    init(count: Int) throws(SocketError) {
        var loops: [EventLoop] = []
        for index in 0..<max(1, count) { loops.append(try EventLoop(index: index)) }
        self.loops = loops
        for loop in loops { loop.start() }
    }

    /// The next loop in round-robin order.
    func next() -> EventLoop {
        loops[nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue % loops.count]
    }

    /// Stops every loop and waits for their threads to exit.
    func shutdown() async {
        for loop in loops { loop.stop() }
        for loop in loops { await loop.waitUntilStopped() }
    }

    /// The number of processors this process may run on.
    static var activeProcessorCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}

/// Carries a value owned by one event loop across a `@Sendable` boundary; only that loop may unwrap it.
struct LoopBound<Value>: @unchecked Sendable {
    // @unchecked: `value` is read only on `loop`'s thread (asserted), where it lives.
    private let storage: Value
    /// The loop owning the value.
    let loop: EventLoop

    /// Wraps `value`, which belongs to `loop`.
    init(_ value: Value, loop: EventLoop) {
        self.storage = value
        self.loop = loop
    }

    /// The value; only on the owning loop's thread.
    var value: Value {
        loop.assertInLoop()
        return storage
    }
}
