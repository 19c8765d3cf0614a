import COpenSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A TLS failure as one line of text: what we were doing, and OpenSSL's reasons when it gave any.
public struct TLSError: Error, CustomStringConvertible, Hashable, Sendable {
    /// The whole message, one line ("TLS: cannot load certificate chain from /x.pem: no start line (PEM routines)").
    public var message: String

    /// Makes an error from a complete message.
    public init(_ message: String) {
        self.message = message
    }

    /// The message itself.
    public var description: String { message }

    /// An error saying what failed, followed by the reasons OpenSSL queued for it (the queue is emptied).
    static func openSSL(_ context: String) -> TLSError {
        let reasons = OpenSSLErrorQueue.drain()
        return TLSError(reasons.isEmpty ? "TLS: \(context)" : "TLS: \(context): \(reasons.joined(separator: "; "))")
    }
}

/// OpenSSL's thread-local error queue: every call into libssl starts with it empty, and failures read it out,
/// so a stale error from one connection never shows up in another's message.
enum OpenSSLErrorQueue {
    /// ERR_SYSTEM_FLAG (err.h: INT_MAX + 1).
    private static let systemErrorFlag: UInt = 1 << 31

    /// Forgets every queued error; call before an OpenSSL function whose failure we will report.
    static func clear() {
        ERR_clear_error()
    }

    /// Removes and describes every queued error, oldest first, as "reason (library): detail".
    static func drain() -> [String] {
        var reasons: [String] = []
        while true {
            var data: UnsafePointer<CChar>? = nil
            var flags: Int32 = 0
            let code = ERR_get_error_all(nil, nil, nil, &data, &flags)
            if code == 0 { break }
            var text: String
            if code & systemErrorFlag != 0 {
                // ERR_SYSTEM_ERROR: the low bits are an errno value; OpenSSL 3 has no reason string for it.
                text = String(cString: strerror(Int32(truncatingIfNeeded: code & ~systemErrorFlag)))
            } else {
                text = ERR_reason_error_string(code).map { String(cString: $0) } ?? "error 0x\(String(code, radix: 16))"
                // "system lib" entries only repeat, layer by layer, an errno already reported.
                if text == "system lib",
                    reasons.contains(where: { $0.hasSuffix("(system library)") || $0.contains("(system library):") })
                {
                    continue
                }
            }
            if let library = ERR_lib_error_string(code) {
                text += " (\(String(cString: library)))"
            }
            if flags & ERR_TXT_STRING != 0, let data, data.pointee != 0 {
                text += ": " + String(cString: data)
            }
            reasons.append(text)
        }
        return reasons
    }
}
