import Glibc

/// A detached POSIX thread of the node's own: the committer and the snapshot writer each run on one, so their
/// waits for the disk and long encodings never hold an event loop or a thread of Swift's cooperative pool.
enum DedicatedThread {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// Starts a thread that runs `body` once and exits.
    static func start(_ body: @escaping () -> Void) {
        let box = Unmanaged.passRetained(Body(body))
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { argument in
                Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue().run()
                return nil
            }, box.toOpaque())
        precondition(result == 0, "pthread_create failed: \(result)")
        pthread_detach(thread)
    }
}

/// A mutex and its condition variable, for a dedicated thread and the threads that hand it work. Timed waits count
/// on CLOCK_MONOTONIC, so a wall-clock step neither cuts a wait short nor stretches it.
final class ThreadCondition: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }

    func unlock() { pthread_mutex_unlock(mutex) }

    /// Waits (the mutex held) until signalled; the mutex is held again on return.
    func wait() { pthread_cond_wait(condition, mutex) }

    /// Waits (the mutex held) until signalled or CLOCK_MONOTONIC reaches `deadline` seconds.
    func wait(untilMonotonicSeconds deadline: Double) {
        var time = timespec()
        let whole = deadline.rounded(.down)
        time.tv_sec = Int(whole)
        time.tv_nsec = Int((deadline - whole) * 1e9)
        pthread_cond_timedwait(condition, mutex, &time)
    }

    func signal() { pthread_cond_signal(condition) }

    func broadcast() { pthread_cond_broadcast(condition) }
}
