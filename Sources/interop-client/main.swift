import Glibc
import HTTP2Transport
import RPCCore

// interop-client: runs one case of gRPC's doc/interop-test-descriptions.md against a server over
// HTTP2ClientTransport. Exit 0: every assertion held. Exit 1: one did not (the reason is the one line on
// stderr). Exit 2: bad command line.

/// Writes one line to stderr.
func printError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

let options: InteropClientOptions
do {
    options = try InteropClientOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    printError("interop-client: \(error)")
    exit(2)
}

var configuration = ClientConfiguration(host: options.serverHost, port: options.serverPort)
if let name = options.serverHostOverride { configuration.authority = "\(name):\(options.serverPort)" }
if options.useTLS {
    configuration.tls = TLSClientConfiguration(
        trustRootsPEMPath: options.caFile, serverNameOverride: options.serverHostOverride)
}

let transport: HTTP2ClientTransport
do {
    transport = try HTTP2ClientTransport(configuration: configuration)
} catch {
    printError("FAIL \(options.testCase): cannot create the transport: \(error)")
    exit(1)
}

/// Runs the case, reports it on stdout or stderr and closes the transport; returns the exit status. A function rather
/// than top-level code: Swift 6.3 never releases some of the strings that top-level async code interpolates between
/// suspension points, which LeakSanitizer reports when the client exits.
func runCase(_ testCase: String, on transport: HTTP2ClientTransport) async -> Int32 {
    let status: Int32
    do {
        try await InteropClientCases(transport: transport).run(testCase)
        print("PASS \(testCase)")
        status = 0
    } catch let failure as InteropCaseFailure {
        printError("FAIL \(testCase): \(failure.reason)")
        status = 1
    } catch let error as RPCError {
        printError("FAIL \(testCase): unexpected status \(error.code): \(error.message.debugDescription)")
        status = 1
    } catch {
        printError("FAIL \(testCase): \(error)")
        status = 1
    }
    await transport.close()
    return status
}

exit(await runCase(options.testCase, on: transport))
