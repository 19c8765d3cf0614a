import CLinuxEvents
import Glibc
import Synchronization

/// Something an event loop tells when its file descriptor becomes readable, writable or fails.
protocol FileDescriptorHandler: AnyObject {
    /// Handles the epoll events reported for the handler's descriptor; runs on the loop thread.
    func handleEvents(_ events: UInt32)
}

/// One thread running epoll: file descriptor readiness, tasks sent from other threads, and timers.
///
/// Everything registered with a loop (connections, listeners, nghttp2 sessions) is touched only on its thread;
/// other threads reach it through `execute`, which wakes the loop through an eventfd. The loop never blocks
/// except in `epoll_wait`.
final class EventLoop: @unchecked Sendable {
    // @unchecked: `handlers`, `timers` and `draining` are only touched on the loop thread (checked by
    // `assertInLoop`); the task queue is behind a mutex.

    /// Something queued to run on the loop thread: a closure, or a job of a Swift task that prefers this loop
    /// (kept as is, so resuming a task allocates nothing).
    enum QueuedWork {
        case closure(@Sendable () -> Void)
        case job(UnownedJob)
    }

    private struct TaskQueue {
        var work: [QueuedWork] = []
        var stopRequested = false
    }

    /// Index of this loop in its group, for names and round-robin.
    let index: Int
    private let epollFD: Int32
    private let wakeFD: Int32
    private let queue = Mutex(TaskQueue())
    private let threadID = Atomic<UInt>(0)
    private var handlers: [Int32: any FileDescriptorHandler] = [:]
    private var timers = TimerQueue()
    /// The batch being run, swapped with the queue's array so both keep their capacity (loop thread only).
    private var draining: [QueuedWork] = []
    private let finished = Mutex<[CheckedContinuation<Void, Never>]?>([])
    /// Buffers every connection of this loop borrows for one read or one write (loop thread only): the bytes
    /// reach nghttp2 or the socket before the borrower returns them, so an idle connection holds no buffer.
    private var spareReadBuffer: [UInt8]?
    private var spareWriteBuffer: [UInt8]?
    /// Bytes read from a socket at once.
    static let readBufferSize = 64 * 1024
    /// Times the task queue is drained per loop iteration before sockets are looked at again.
    static let taskRoundsPerIteration = 4

    /// Creates the loop's epoll instance and wake-up eventfd; `start` runs it.
    init(index: Int) throws(SocketError) {
        self.index = index
        let epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw SocketError(operation: "epoll_create1") }
        let wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard wakeFD >= 0 else {
            let error = SocketError(operation: "eventfd")
            close(epollFD)
            throw error
        }
        self.epollFD = epollFD
        self.wakeFD = wakeFD
        var event = epoll_event()
        // Edge-triggered: every write to the eventfd reports one event, so the loop never has to read it back
        // (one system call less per wake-up; the counter would take centuries to saturate).
        event.events = EPOLLIN.rawValue | EPOLLET.rawValue
        event.data.fd = wakeFD
        epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event)
    }

    deinit {
        close(wakeFD)
        close(epollFD)
    }

    /// Starts the loop's thread.
    func start() {
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { argument in
                let loop = Unmanaged<EventLoop>.fromOpaque(argument!).takeRetainedValue()
                loop.run()
                return nil
            }, box.toOpaque())
        precondition(result == 0, "pthread_create failed: \(result)")
        pthread_detach(thread)
    }

    /// Whether the caller runs on this loop's thread.
    var inLoop: Bool { threadID.load(ordering: .relaxed) == UInt(pthread_self()) }

    /// Traps when called off the loop thread: loop-owned state must not be shared.
    func assertInLoop(_ file: StaticString = #fileID, _ line: UInt = #line) {
        assert(inLoop, "called off the event loop thread", file: file, line: line)
    }

    /// Runs `task` on the loop thread soon; callable from any thread.
    func execute(_ task: @escaping @Sendable () -> Void) {
        enqueue(.closure(task))
    }

    /// Queues `work` for the loop thread; callable from any thread.
    func enqueue(_ work: QueuedWork) {
        let wasEmpty = queue.withLock { queue -> Bool in
            queue.work.append(work)
            return queue.work.count == 1
        }
        // Only the first task of a batch needs a wake-up; the loop drains the whole queue at once. On the loop
        // itself none is needed: it looks at the queue before it waits again.
        if wasEmpty && !inLoop { wake() }
    }

    /// Runs `task` now when already on the loop thread, else queues it.
    func executeSoon(_ task: @escaping @Sendable () -> Void) {
        if inLoop { task() } else { execute(task) }
    }

    /// Asks the loop to exit after the tasks queued so far; `waitUntilStopped` returns when it has.
    func stop() {
        queue.withLock { $0.stopRequested = true }
        wake()
    }

    /// Returns once the loop thread has exited.
    func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let alreadyDone = finished.withLock { waiters -> Bool in
                guard waiters != nil else { return true }
                waiters!.append(continuation)
                return false
            }
            if alreadyDone { continuation.resume() }
        }
    }

    private func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    // MARK: Loop-thread API

    /// Watches `fd` for `events` (EPOLLIN, EPOLLOUT...), reporting to `handler`, which the loop keeps alive.
    func register(_ fd: Int32, events: UInt32, handler: any FileDescriptorHandler) {
        assertInLoop()
        handlers[fd] = handler
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event)
    }

    /// Changes the events watched for `fd`.
    func modify(_ fd: Int32, events: UInt32) {
        assertInLoop()
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
    }

    /// Stops watching `fd` and releases its handler (the caller closes the descriptor).
    func unregister(_ fd: Int32) {
        assertInLoop()
        epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
        handlers[fd] = nil
    }

    /// Runs `action` on the loop thread after `delay`, unless cancelled first.
    @discardableResult
    func scheduleTimer(after delay: Duration, _ action: @escaping () -> Void) -> TimerID {
        assertInLoop()
        return timers.schedule(at: MonotonicTime.now + delay.nanoseconds, action)
    }

    /// Lends the loop's read buffer (`EventLoop.readBufferSize` bytes); give it back with `returnReadBuffer`.
    /// A nested borrow gets a fresh buffer.
    func borrowReadBuffer() -> [UInt8] {
        assertInLoop()
        if let buffer = spareReadBuffer {
            spareReadBuffer = nil
            return buffer
        }
        return [UInt8](repeating: 0, count: EventLoop.readBufferSize)
    }

    /// Takes back the buffer from `borrowReadBuffer`.
    func returnReadBuffer(_ buffer: [UInt8]) {
        assertInLoop()
        if buffer.count == EventLoop.readBufferSize { spareReadBuffer = buffer }
    }

    /// Lends the loop's (empty) write buffer; give it back with `returnWriteBuffer`. A nested borrow gets a
    /// fresh one.
    func borrowWriteBuffer() -> [UInt8] {
        assertInLoop()
        if let buffer = spareWriteBuffer {
            spareWriteBuffer = nil
            return buffer
        }
        return []
    }

    /// Takes back the buffer from `borrowWriteBuffer`, emptied; an oversized one is dropped.
    func returnWriteBuffer(_ buffer: [UInt8]) {
        assertInLoop()
        guard buffer.capacity <= 4 << 20 else { return }
        var buffer = buffer
        buffer.removeAll(keepingCapacity: true)
        spareWriteBuffer = buffer
    }

    /// Cancels a timer that has not fired yet.
    func cancelTimer(_ id: TimerID) {
        assertInLoop()
        timers.cancel(id)
    }

    private func run() {
        threadID.store(UInt(pthread_self()), ordering: .relaxed)
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        while true {
            // Tasks queued from the loop thread itself (by the tasks just run) are waiting: poll, don't sleep.
            let tasksWaiting = queue.withLock { !$0.work.isEmpty }
            let timeout = tasksWaiting ? 0 : timers.millisecondsUntilNext(now: MonotonicTime.now)
            let count = events.withUnsafeMutableBufferPointer { buffer in
                epoll_wait(epollFD, buffer.baseAddress, Int32(buffer.count), timeout)
            }
            if count > 0 {
                for i in 0..<Int(count) {
                    let fd = events[i].data.fd
                    if fd != wakeFD, let handler = handlers[fd] {
                        handler.handleEvents(events[i].events)
                    }
                }
            }
            // One at a time: a timer's action may schedule or cancel timers.
            let now = MonotonicTime.now
            while let action = timers.popExpired(now: now) { action() }
            // A few rounds: a handler run by one round queues its response's wake-up for the next, and serving
            // that now spares an epoll_wait per call; the bound keeps sockets from waiting behind a busy queue.
            var stop = false
            for _ in 0..<Self.taskRoundsPerIteration {
                stop = queue.withLock { queue in
                    swap(&queue.work, &draining)
                    return queue.stopRequested
                }
                for work in draining {
                    switch work {
                    case .closure(let task): task()
                    case .job(let job): job.runSynchronously(on: asUnownedTaskExecutor())
                    }
                }
                draining.removeAll(keepingCapacity: true)
                if queue.withLock({ $0.work.isEmpty }) { break }
            }
            if stop && queue.withLock({ $0.work.isEmpty }) { break }
        }
        handlers = [:]
        timers = TimerQueue()
        let waiters = finished.withLock { waiters in
            defer { waiters = nil }
            return waiters ?? []
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// Identifies a scheduled timer so it can be cancelled.
struct TimerID: Hashable, Sendable {
    fileprivate let value: UInt64
}

/// Nanoseconds on CLOCK_MONOTONIC.
enum MonotonicTime {
    /// The current monotonic time in nanoseconds.
    static var now: UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}

extension Duration {
    /// The duration in whole nanoseconds, clamped at zero.
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 { return 0 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }
}

/// Timers of one loop: a binary min-heap of deadlines; cancelled timers are dropped when they surface.
struct TimerQueue {
    private var heap: [(deadline: UInt64, id: UInt64)] = []
    private var actions: [UInt64: () -> Void] = [:]
    private var nextID: UInt64 = 0

    mutating func schedule(at deadline: UInt64, _ action: @escaping () -> Void) -> TimerID {
        nextID += 1
        actions[nextID] = action
        heap.append((deadline, nextID))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
        return TimerID(value: nextID)
    }

    mutating func cancel(_ id: TimerID) {
        actions[id.value] = nil
    }

    /// epoll_wait's timeout: -1 without timers, else milliseconds (rounded up) to the earliest one.
    mutating func millisecondsUntilNext(now: UInt64) -> Int32 {
        while let first = heap.first, actions[first.id] == nil { popFirst() }
        guard let first = heap.first else { return -1 }
        if first.deadline <= now { return 0 }
        return Int32(min((first.deadline - now + 999_999) / 1_000_000, 60_000))
    }

    /// Removes and returns the action of the earliest timer due at `now`, if any.
    mutating func popExpired(now: UInt64) -> (() -> Void)? {
        while let first = heap.first, first.deadline <= now {
            popFirst()
            if let action = actions.removeValue(forKey: first.id) { return action }
        }
        return nil
    }

    private mutating func popFirst() {
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count && heap[right].deadline < heap[smallest].deadline { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
