import Glibc

/// Where a server reports a connection that broke a limit or the protocol: one line per breach per connection.
public struct ConnectionEventLog: Sendable {
    private let sink: @Sendable (String) -> Void

    /// A log that hands each line (no trailing newline) to `sink`; called on the connection's loop thread.
    public init(_ sink: @escaping @Sendable (String) -> Void) {
        self.sink = sink
    }

    /// Writes lines to standard error.
    public static let standardError = ConnectionEventLog { line in
        // One write(2) per line, so lines from different loop threads do not interleave.
        let bytes = Array("healthledger-transport: \(line)\n".utf8)
        _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    /// Discards every line.
    public static let discarding = ConnectionEventLog { _ in }

    /// Records that the connection from `peer` broke a limit; `event` says which and what the server did.
    func record(peer: String, _ event: String) {
        sink("\(peer): \(event)")
    }
}
