import HTTP2Transport
import ProtobufWire
import RPCCore

/// `echo`: unary calls of `healthledger.bench.v1.Echo/Unary` on `echo-bench-server`, through exactly the client
/// path the `tx` scenario uses (pre-encoded request, same connections and calls in flight), so the figure is
/// the transport's ceiling for that load shape with no ledger work behind it.
enum EchoScenario {
    static let unary = MethodDescriptor(service: "healthledger.bench.v1.Echo", method: "Unary", kind: .unary)

    static func run(_ options: inout BenchOptions, port: Int) async throws {
        let connectionCount = options.int("connections", 8)
        let inflight = options.int("inflight", 512)
        let seconds = options.double("seconds", 5)
        let payloadBytes = options.int("payload", 0)
        let server = ServerUsage.from(&options)
        options.rejectUnknown()

        let connections = try LedgerConnections(port: port, count: connectionCount)
        var message = EchoPayload()
        message.payload = [UInt8](repeating: 0x5a, count: payloadBytes)
        let request = message.serializedBytes()
        for transport in connections.transports {
            _ = try await RawCalls.single(transport, unary, [request])
        }
        let usage = server?.begin()
        let clientUsage = ServerUsage.client.begin()
        let start = Clock.now()
        let deadline = start + Int64(seconds * 1e9)
        var ok = 0
        var latencies = LatencySamples()
        await withTaskGroup(of: (Int, LatencySamples).self) { group in
            for worker in 0..<inflight {
                let transport = connections.transport(for: worker)
                group.addTask {
                    var done = 0
                    var samples = LatencySamples()
                    while Clock.now() < deadline {
                        let sent = Clock.now()
                        do {
                            let bytes = try await RawCalls.single(transport, unary, [request])
                            let answer = try RawCalls.decode(EchoPayload.self, bytes)
                            guard answer.payload.count == payloadBytes else {
                                throw RPCError(.internalError, "echoed \(answer.payload.count) bytes")
                            }
                        } catch {
                            Report.failRun("echo", "\(error)")
                        }
                        samples.add(Clock.now() - sent)
                        done += 1
                    }
                    return (done, samples)
                }
            }
            for await (done, samples) in group {
                ok += done
                latencies.merge(samples)
            }
        }
        let elapsed = Clock.now() - start
        let cpu = server?.percent(since: usage) ?? "-"
        let clientCPU = ServerUsage.client.percent(since: clientUsage)
        let p = latencies.percentiles([50, 99])
        Report.result(
            "echo",
            [
                "req_per_s": Format.fixed(Double(ok) / (Double(elapsed) / 1e9), 0), "p50_ms": Format.ms(p[0]),
                "p99_ms": Format.ms(p[1]), "calls": "\(ok)", "payload": "\(payloadBytes)",
                "connections": "\(connectionCount)", "inflight": "\(inflight)", "server_cpu_pct": cpu, "client_cpu_pct": clientCPU,
            ])
        await connections.close()
    }
}

/// EchoRequest / EchoResponse of Benchmarks/grpc/echo.proto (both are `bytes payload = 1`).
struct EchoPayload: ProtoMessage {
    static let protoMessageName = "healthledger.bench.v1.EchoRequest"

    var payload: [UInt8] = []
    var unknownFields = UnknownFields()

    init() {}

    func encodeFields(to writer: inout ProtoWriter) {
        if !payload.isEmpty { writer.writeBytes(payload, field: 1) }
        writer.writeUnknown(unknownFields)
    }

    mutating func decodeFields(from reader: inout ProtoReader) throws(ProtoDecodingError) {
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1: payload = try reader.readBytes(tag, field: "healthledger.bench.v1.EchoRequest.payload")
            default: try reader.skipField(tag, into: &unknownFields)
            }
        }
    }
}
