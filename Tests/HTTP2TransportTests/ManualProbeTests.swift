import Foundation
import Testing

/// Keeps a server up for HL_SERVE_SECONDS seconds, writing its port to HL_SERVE_PORT_FILE, so a developer can
/// point a client (grpcio, grpcurl) at it. Skipped unless HL_SERVE_SECONDS is set.
@Suite("Manual probing")
struct ManualProbeTests {
    @Test(
        "serve the interop TestService for manual probing",
        .enabled(if: ProcessInfo.processInfo.environment["HL_SERVE_SECONDS"] != nil))
    func serveForProbing() async throws {
        let environment = ProcessInfo.processInfo.environment
        let seconds = Int(environment["HL_SERVE_SECONDS"] ?? "") ?? 30
        let server = try TestServer.start()
        let portFile = environment["HL_SERVE_PORT_FILE"] ?? "/tmp/hl-transport-port"
        try String(server.port).write(toFile: portFile, atomically: true, encoding: .utf8)
        try await Task.sleep(for: .seconds(seconds))
        await server.stop()
    }
}
