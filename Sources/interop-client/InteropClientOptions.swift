/// The command line of `interop-client`, the flags grpc's interop clients take (interop-test-descriptions.md).
struct InteropClientOptions {
    /// The server's address.
    var serverHost = "127.0.0.1"
    /// The name to verify in the server certificate and send as :authority, instead of `serverHost`.
    var serverHostOverride: String?
    /// The server's port.
    var serverPort = 0
    /// Which case to run, e.g. "large_unary".
    var testCase = ""
    /// Whether to connect over TLS.
    var useTLS = false
    /// PEM bundle of the CA the server certificate must chain to (the descriptions' --use_test_ca, by path).
    var caFile: String?

    /// Why the command line was refused.
    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    static let usage = """
        usage: interop-client --test_case NAME --server_port N [--server_host H] \
        [--use_tls --ca_file PEM [--server_host_override NAME]]
        """

    /// Parses `arguments` (without the program name); each flag may be written `--flag value` or `--flag=value`.
    static func parse(_ arguments: [String]) throws(UsageError) -> InteropClientOptions {
        var options = InteropClientOptions()
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            guard argument.hasPrefix("--") else { throw UsageError(description: "unexpected argument \(argument)") }
            let parts = argument.dropFirst(2).split(separator: "=", maxSplits: 1).map(String.init)
            let name = parts[0]
            var inlineValue = parts.count == 2 ? parts[1] : nil
            func value() throws(UsageError) -> String {
                if let inline = inlineValue {
                    inlineValue = nil
                    return inline
                }
                guard let next = remaining.popFirst() else { throw UsageError(description: "--\(name) needs a value") }
                return next
            }
            switch name {
            case "server_host": options.serverHost = try value()
            case "server_host_override": options.serverHostOverride = try value()
            case "server_port":
                let text = try value()
                guard let port = Int(text), (1...65_535).contains(port) else {
                    throw UsageError(description: "--server_port: \(text) is not a port number")
                }
                options.serverPort = port
            case "test_case": options.testCase = try value()
            case "use_tls":
                switch inlineValue {
                case nil, "true": options.useTLS = true
                case "false": options.useTLS = false
                case let other?: throw UsageError(description: "--use_tls: \(other) is not true or false")
                }
            case "ca_file": options.caFile = try value()
            default: throw UsageError(description: "unknown flag --\(name)\n\(usage)")
            }
        }
        guard !options.testCase.isEmpty, options.serverPort != 0 else { throw UsageError(description: usage) }
        return options
    }
}
