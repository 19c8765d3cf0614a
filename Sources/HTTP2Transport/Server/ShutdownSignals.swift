import CLinuxEvents
import Dispatch
import Glibc

/// SIGTERM and SIGINT as an async wait, so a server's `main` can shut down gracefully and exit 0.
///
/// Call ``install()`` before announcing that the server listens: from then on no signal is lost, however soon it
/// comes. The handler only writes the signal's number to a pipe (async-signal-safe); ``first()`` reads it.
public final class ShutdownSignals: Sendable {
    private let readEnd: Int32

    private init(readEnd: Int32) {
        self.readEnd = readEnd
    }

    private static let installed: Result<ShutdownSignals, SocketError> = {
        var ends: [Int32] = [0, 0]
        guard pipe2(&ends, O_CLOEXEC | O_NONBLOCK) == 0 else { return .failure(SocketError(operation: "pipe2")) }
        guard clinux_install_shutdown_signals(ends[1]) == 0 else {
            return .failure(SocketError(operation: "sigaction"))
        }
        return .success(ShutdownSignals(readEnd: ends[0]))
    }()

    /// Routes SIGTERM and SIGINT to this process's shutdown pipe (once per process; later calls return the same).
    public static func install() throws(SocketError) -> ShutdownSignals {
        try installed.get()
    }

    /// Returns the number of the first SIGTERM or SIGINT received since ``install()`` not yet returned.
    public func first() async -> Int32 {
        if let number = readSignal() { return number }
        let source = DispatchSource.makeReadSource(fileDescriptor: readEnd, queue: DispatchQueue(label: "shutdown-signals"))
        let number = await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            source.setEventHandler { [self] in
                guard let number = readSignal() else { return }
                source.cancel()
                continuation.resume(returning: number)
            }
            source.resume()
        }
        return number
    }

    private func readSignal() -> Int32? {
        var byte: UInt8 = 0
        return read(readEnd, &byte, 1) == 1 ? Int32(byte) : nil
    }
}
