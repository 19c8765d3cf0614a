import Glibc

/// A failed system call on a socket or loop descriptor, with the errno text.
public struct SocketError: Error, CustomStringConvertible, Sendable {
    /// The system call that failed, e.g. "bind".
    public var operation: String
    /// The errno value.
    public var code: Int32

    /// Captures the current errno for `operation`.
    init(operation: String, code: Int32 = errno) {
        self.operation = operation
        self.code = code
    }

    /// The errno text alone, e.g. "Connection refused".
    public var reason: String { String(cString: strerror(code)) }

    /// "bind: Address already in use".
    public var description: String { "\(operation): \(reason)" }
}
