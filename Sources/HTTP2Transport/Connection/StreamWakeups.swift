import Synchronization

/// Collects the ids of streams that tasks on other threads made ready (messages written, requests taken), and
/// runs one loop task per batch to serve them all, so a burst of writes costs one cross-thread hop.
final class StreamWakeups: Sendable {
    private let pending = Mutex<[Int32]>([])
    private let loop: EventLoop
    private let process: LoopBound<([Int32]) -> Void>

    /// Calls `process` on `loop` with the woken stream ids (in wake order, possibly repeated).
    init(loop: EventLoop, process: @escaping ([Int32]) -> Void) {
        self.loop = loop
        self.process = LoopBound(process, loop: loop)
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
            process.value(ids)
        }
    }
}
