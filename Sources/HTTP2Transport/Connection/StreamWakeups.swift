import Synchronization

/// Collects the ids of streams that tasks on other threads made ready (messages written, requests taken), and
/// runs one loop task per batch to serve them all, so a burst of writes costs one cross-thread hop.
final class StreamWakeups: Sendable {
    /// The loop-side receiver of the ids; a class so `stop` can drop it on the loop thread.
    private final class Target {
        var process: (([Int32]) -> Void)?
        init(_ process: @escaping ([Int32]) -> Void) { self.process = process }
    }

    private let pending = Mutex<[Int32]>([])
    private let loop: EventLoop
    private let target: LoopBound<Target>

    /// Calls `process` on `loop` with the woken stream ids (in wake order, possibly repeated) until `stop`.
    ///
    /// `process` may hold its connection strongly (a weak reference would give the connection a side table and
    /// make every retain of it take the runtime's slow path); `stop` breaks that cycle when the connection ends.
    init(loop: EventLoop, process: @escaping ([Int32]) -> Void) {
        self.loop = loop
        self.target = LoopBound(Target(process), loop: loop)
    }

    /// Drops `process`; later wake-ups do nothing. On the loop thread.
    func stop() {
        target.value.process = nil
    }

    /// Marks `streamID` ready; callable from any thread.
    func wake(_ streamID: Int32) {
        let first = pending.withLock { pending in
            pending.append(streamID)
            return pending.count == 1
        }
        guard first else { return }
        loop.execute { [self] in
            let ids = pending.withLock { pending in
                defer { pending.removeAll(keepingCapacity: true) }
                return pending
            }
            target.value.process?(ids)
        }
    }
}
