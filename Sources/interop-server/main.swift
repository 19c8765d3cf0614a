import GRPCProtos
import GRPCStandardServices
import Glibc
import HTTP2Transport
import RPCCore

// interop-server: grpc.testing.TestService (gRPC doc/interop-test-descriptions.md, "Server"), plus
// grpc.health.v1.Health and server reflection, over h2c or TLS. Prints "listening on port N" as the first
// line of stdout once it accepts connections; SIGTERM or SIGINT drains calls in flight and exits 0.

/// Writes one line to stderr.
func printError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

let options: InteropServerOptions
do {
    options = try InteropServerOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    printError("interop-server: \(error)")
    exit(2)
}

let testService = InteropTestService().serviceDefinitionWithoutUnimplementedCall
let health = HealthStatusRegistry(serverStatus: .serving)
health.setStatus(.serving, forService: testService.name)
let reflection: ReflectionService
do {
    reflection = try ReflectionService(
        files: [
            GrpcTestingEmptyProtoFile.descriptor, GrpcTestingMessagesProtoFile.descriptor,
            GrpcTestingTestProtoFile.descriptor, GrpcHealthV1HealthProtoFile.descriptor,
            GrpcReflectionV1ReflectionProtoFile.descriptor, GrpcReflectionV1alphaReflectionProtoFile.descriptor,
        ],
        servedServices: [testService.name, "grpc.health.v1.Health"])
} catch {
    printError("interop-server: a generated descriptor does not decode: \(error)")
    exit(1)
}

var configuration = ServerConfiguration(host: options.host, port: options.port)
if options.useTLS, let certificate = options.certificateFile, let key = options.privateKeyFile {
    configuration.tls = TLSConfiguration(certificateChainPEMPath: certificate, privateKeyPEMPath: key)
}
// Before the server starts, so a SIGTERM sent the moment "listening" is printed still stops it gracefully.
let shutdownSignals: ShutdownSignals
do {
    shutdownSignals = try ShutdownSignals.install()
} catch {
    printError("interop-server: cannot install the shutdown signal handlers: \(error)")
    exit(1)
}
let server = GRPCServer(
    configuration: configuration,
    services: [testService, HealthService(registry: health).serviceDefinition] + reflection.serviceDefinitions)

let port: Int
do {
    port = try server.start()
} catch {
    printError("interop-server: cannot serve on \(options.host):\(options.port): \(error)")
    exit(1)
}

/// Announces the port, waits for SIGTERM or SIGINT, then drains the calls in flight. A function rather than top-level
/// code: Swift 6.3 never releases some of the strings that top-level async code interpolates between suspension
/// points, which LeakSanitizer reports when the server exits.
func serveUntilSignalled(
    _ server: GRPCServer, port: Int, signals: ShutdownSignals, health: HealthStatusRegistry
) async {
    print("listening on port \(port)")
    fflush(nil)  // stdout is a pipe when a test starts us: push the port line out now

    let signalNumber = await signals.first()
    printError("interop-server: signal \(signalNumber), shutting down")
    health.markAllNotServing()
    await server.shutdown(gracePeriod: .seconds(5))
}

await serveUntilSignalled(server, port: port, signals: shutdownSignals, health: health)
exit(0)
