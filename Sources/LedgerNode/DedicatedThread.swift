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
