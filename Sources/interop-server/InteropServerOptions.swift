/// The command line of `interop-server`, in the shape grpc's interop servers take (`--port=8080 --use_tls=true`).
struct InteropServerOptions {
    /// The port to bind; 0 picks an ephemeral one, printed on the first line of stdout.
    var port = 0
    /// The address to bind.
    var host = "127.0.0.1"
    /// Whether to serve TLS (with ALPN h2) instead of h2c.
    var useTLS = false
    /// PEM certificate chain for TLS.
    var certificateFile: String?
    /// PEM private key for TLS.
    var privateKeyFile: String?

    /// Why the command line was refused, printed as one line before exiting with status 2.
    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    static let usage = """
        usage: interop-server [--port N] [--host ADDRESS] [--use_tls [--tls_cert_file PEM --tls_key_file PEM]]
        """

    /// Parses `arguments` (without the program name); each flag may be written `--flag value` or `--flag=value`.
    static func parse(_ arguments: [String]) throws(UsageError) -> InteropServerOptions {
        var options = InteropServerOptions()
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
            case "port":
                let text = try value()
                guard let port = Int(text), (0...65_535).contains(port) else {
                    throw UsageError(description: "--port: \(text) is not a port number")
                }
                options.port = port
            case "host":
                options.host = try value()
            case "use_tls":
                // grpc's interop scripts pass --use_tls=true / --use_tls=false; a bare flag means true.
                switch inlineValue {
                case nil, "true": options.useTLS = true
                case "false": options.useTLS = false
                case let other?: throw UsageError(description: "--use_tls: \(other) is not true or false")
                }
            case "tls_cert_file":
                options.certificateFile = try value()
            case "tls_key_file":
                options.privateKeyFile = try value()
            case "help":
                throw UsageError(description: usage)
            default:
                throw UsageError(description: "unknown flag --\(name)\n\(usage)")
            }
        }
        if options.useTLS && (options.certificateFile == nil || options.privateKeyFile == nil) {
            throw UsageError(description: "--use_tls needs --tls_cert_file and --tls_key_file")
        }
        return options
    }
}
