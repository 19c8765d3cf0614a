import Dispatch
import Glibc

/// SIGTERM and SIGINT as an async wait, so a server's `main` can shut down gracefully and exit 0.
public enum ShutdownSignals {
    /// Returns the number of the first SIGTERM or SIGINT received after this was called.
    ///
    /// The default dispositions are replaced by SIG_IGN so the signals are only seen through the dispatch
    /// sources (a handler running arbitrary Swift code inside a signal handler would not be async-signal-safe).
    public static func first() async -> Int32 {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        let queue = DispatchQueue(label: "shutdown-signals")
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            sources.append(source)
        }
        var iterator = stream.makeAsyncIterator()
        let received = await iterator.next() ?? SIGTERM
        for source in sources { source.cancel() }
        return received
    }
}
