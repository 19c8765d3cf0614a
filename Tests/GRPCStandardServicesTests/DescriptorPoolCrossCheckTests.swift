import Foundation
import GRPCProtos
@testable import GRPCStandardServices
import HealthLedgerProtos
import ProtobufWire
import RPCCore
import Testing

// An independent check with Python's protobuf: the files reflection sends for a service must build a valid
// google.protobuf DescriptorPool, and the index must name the same file for every symbol that protobuf's
// own DescriptorPool.FindFileContainingSymbol does. Skipped when the repository's .venv is absent.

/// The repository's virtualenv Python, made by scripts/setup.
private let venvPython: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent(".venv/bin/python")

private let hasVenv = FileManager.default.isExecutableFile(atPath: venvPython.path)

/// Adds the files in argv[1] (*.bin, serialized FileDescriptorProtos) to a fresh pool, imports first, then
/// checks argv[1]/checks.json: services that must resolve, and symbol -> expected file. Prints problems.
private let poolScript = """
    import json, sys
    from pathlib import Path
    from google.protobuf import descriptor_pb2, descriptor_pool

    directory = Path(sys.argv[1])
    files = {}
    for path in sorted(directory.glob("*.bin")):
        data = path.read_bytes()
        files[descriptor_pb2.FileDescriptorProto.FromString(data).name] = data
    pool = descriptor_pool.DescriptorPool()
    added = set()
    def add(name):
        if name in added:
            return
        for dependency in descriptor_pb2.FileDescriptorProto.FromString(files[name]).dependency:
            add(dependency)
        pool.AddSerializedFile(files[name])
        added.add(name)
    for name in files:
        add(name)

    checks = json.loads((directory / "checks.json").read_text())
    problems = []
    for service in checks["services"]:
        descriptor = pool.FindServiceByName(service)
        if not descriptor.methods:
            problems.append(f"{service}: no methods")
    for symbol, expected in sorted(checks["symbols"].items()):
        try:
            found = pool.FindFileContainingSymbol(symbol).name
        except KeyError:
            # upb's pool does not resolve methods by symbol (protoc's C++ pool does); ask for the method.
            try:
                found = pool.FindMethodByName(symbol).containing_service.file.name
            except KeyError:
                found = None
        if found != expected:
            problems.append(f"{symbol}: protobuf says {found}, the index says {expected}")
    print("\\n".join(problems))
    sys.exit(1 if problems else 0)
    """

/// Runs the pool check on a Dispatch thread: waiting for Python holds a thread for a second or more, and the
/// concurrency pool (two threads here) must stay free for the suites that serve calls meanwhile.
private func runPoolCheck(
    descriptors: [[UInt8]], services: [String], symbols: [String: String]
) async throws -> (status: Int32, output: String) {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(
                with: Result { try runPoolCheckBlocking(descriptors: descriptors, services: services, symbols: symbols) })
        }
    }
}

/// Writes `descriptors` and the checks to a temporary directory, runs the script, returns (status, output).
private func runPoolCheckBlocking(
    descriptors: [[UInt8]], services: [String], symbols: [String: String]
) throws -> (status: Int32, output: String) {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("reflection-pool-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    for (number, descriptor) in descriptors.enumerated() {
        try Data(descriptor).write(to: directory.appendingPathComponent("\(number).bin"))
    }
    let checks: [String: Any] = ["services": services, "symbols": symbols]
    try JSONSerialization.data(withJSONObject: checks).write(to: directory.appendingPathComponent("checks.json"))

    let process = Process()
    process.executableURL = venvPython
    process.arguments = ["-c", poolScript, directory.path]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let text = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: text, as: UTF8.self))
}

@Suite(.enabled(if: hasVenv, "needs .venv with protobuf (scripts/setup)"))
struct DescriptorPoolCrossCheckTests {
    @Test func theFilesSentForTheLedgerServiceBuildADescriptorPool() async throws {
        let client = Grpc_Reflection_V1_ServerReflectionClient(transport: try TestFixtures.reflectionTransport())
        var conversation = try await ReflectionConversation { requests in
            try await client.serverReflectionInfo(requests, options: TestFixtures.options)
        }
        var request = Grpc_Reflection_V1_ServerReflectionRequest()
        request.messageRequest = .fileContainingSymbol("healthledger.v1.Ledger")

        let response = try await conversation.ask(request)

        guard case .fileDescriptorResponse(let files) = response.messageResponse else {
            Issue.record("expected a file_descriptor_response, got \(String(describing: response.messageResponse))")
            return
        }
        let result = try await runPoolCheck(
            descriptors: files.fileDescriptorProto, services: ["healthledger.v1.Ledger"],
            symbols: ["healthledger.v1.Ledger.Grant": "healthledger/v1/ledger_service.proto"])
        #expect(result.status == 0, "\(result.output)")
    }

    @Test func theIndexAgreesWithProtobufOnEverySymbol() async throws {
        let files = TestFixtures.files + ReflectionService.standardFiles
        // fileBySymbol holds the names protobuf resolves (the "pkg.Enum.VALUE" aliases are kept apart).
        let symbols = try ReflectionIndex(files: files).fileBySymbol
        #expect(symbols.count > 500)

        let result = try await runPoolCheck(
            descriptors: files.map(\.serializedDescriptor),
            services: ["healthledger.v1.Ledger", "grpc.health.v1.Health", "grpc.testing.TestService"],
            symbols: symbols)
        #expect(result.status == 0, "\(result.output)")
    }
}
