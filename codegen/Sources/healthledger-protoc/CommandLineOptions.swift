/// What the command line asked for, parsed by hand (the generator has no dependencies).
struct CommandLineOptions: Equatable {
    /// Directories imports are resolved against, in order (`-I`, `--proto_path`).
    var includePaths: [String] = []
    /// Directory for the generated `.pb.swift` files (`--swift_out`).
    var swiftOut: String?
    /// Directory for the generated ES modules (`--js_out`).
    var jsOut: String?
    /// Where generated modules import the JavaScript runtime from (`--js_opt=runtime=PATH`); nil means the
    /// `lib` directory beside the output directory.
    var jsRuntime: String?
    /// File for a serialized `FileDescriptorSet` of the inputs and their imports (`--descriptor_set_out`).
    var descriptorSetOut: String?
    /// The .proto files to generate code for.
    var files: [String] = []
    /// `--help` was given.
    var showHelp = false

    /// The text `--help` prints.
    static let usage = """
        USAGE: healthledger-protoc -I DIR [-I DIR]... [--swift_out=OUTDIR] [--js_out=OUTDIR [--js_opt=runtime=PATH]]
                                  [--descriptor_set_out=FILE] FILE...

        Generates Swift and JavaScript for proto3 files. Each FILE's path is taken relative to the include
        directory that contains it; its Swift output is OUTDIR/<that path with "/" as "_" and without
        .proto>.pb.swift (healthledger/v1/ledger.proto -> OUTDIR/healthledger_v1_ledger.pb.swift), its
        JavaScript output OUTDIR/<that path without .proto>.js (OUTDIR/healthledger/v1/ledger.js).

        OPTIONS:
          -I DIR, -IDIR, --proto_path=DIR
                                  Look for imports (and FILEs given relative to it) in DIR. Repeatable;
                                  defaults to the current directory.
          --swift_out=OUTDIR      Write the generated Swift under OUTDIR.
          --js_out=OUTDIR         Write ES modules (message classes, gRPC-Web clients) under OUTDIR.
          --js_opt=runtime=PATH   Import protobuf.js and grpc-web.js from PATH instead of OUTDIR/../lib.
          --descriptor_set_out=FILE
                                  Write a google.protobuf.FileDescriptorSet of the FILEs and their imports.
          -h, --help              Show this help.

        On errors every problem is printed as file:line:column: message, the exit status is 1 and nothing is
        written. Files whose content would not change are left untouched.
        """

    /// Parses `arguments` (without the program name).
    static func parse(_ arguments: [String]) throws(UsageError) -> CommandLineOptions {
        var options = CommandLineOptions()
        var remaining = arguments[...]

        func value(of flag: String, inline: Substring?) throws(UsageError) -> String {
            if let inline {
                guard !inline.isEmpty else { throw UsageError("\(flag) needs a value") }
                return String(inline)
            }
            guard let next = remaining.popFirst(), !next.hasPrefix("-") else {
                throw UsageError("\(flag) needs a value")
            }
            return next
        }

        while let argument = remaining.popFirst() {
            let (flag, inline) = split(argument)
            switch flag {
            case "-h", "--help":
                options.showHelp = true
            case "-I", "--proto_path":
                options.includePaths.append(try value(of: flag, inline: inline))
            case "--swift_out":
                options.swiftOut = try value(of: flag, inline: inline)
            case "--js_out":
                options.jsOut = try value(of: flag, inline: inline)
            case "--js_opt":
                let option = try value(of: flag, inline: inline)
                guard option.hasPrefix("runtime="), option.count > "runtime=".count else {
                    throw UsageError("unknown --js_opt '\(option)' (known: runtime=PATH)")
                }
                options.jsRuntime = String(option.dropFirst("runtime=".count))
            case "--descriptor_set_out":
                options.descriptorSetOut = try value(of: flag, inline: inline)
            case "--":
                options.files.append(contentsOf: remaining)
                remaining = []
            default:
                if argument.hasPrefix("-I") {
                    options.includePaths.append(String(argument.dropFirst(2)))
                } else if argument.hasPrefix("-") {
                    throw UsageError("unknown option '\(argument)'")
                } else {
                    options.files.append(argument)
                }
            }
        }

        if options.showHelp { return options }
        if options.files.isEmpty { throw UsageError("no input files") }
        if options.swiftOut == nil && options.jsOut == nil && options.descriptorSetOut == nil {
            throw UsageError("no output requested: give --swift_out, --js_out and/or --descriptor_set_out")
        }
        if options.includePaths.isEmpty { options.includePaths = ["."] }
        return options
    }

    /// "--flag=value" as ("--flag", "value"); other arguments unchanged with no inline value.
    private static func split(_ argument: String) -> (String, Substring?) {
        guard argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
        return (String(argument[..<equals]), argument[argument.index(after: equals)...])
    }
}

/// The command line could not be understood.
struct UsageError: Error, Equatable {
    /// What is wrong.
    var message: String

    init(_ message: String) {
        self.message = message
    }
}
