import GRPCProtos
import GRPCStatusDetails
import ProtobufWire
import RPCCore
import Testing

/// A details trailer that cannot be trusted yields no details, never a crash, as in grpc-go's
/// internal/status `NewWithProto`.
@Suite("Lenient details decoding")
struct LenientDecodingTests {
    private static let key = RPCError.statusDetailsMetadataKey

    private static func statusBytes(code: Int32, details: [ErrorDetail]) -> [UInt8] {
        var status = Google_Rpc_Status()
        status.code = code
        status.message = "m"
        status.details = details.map(\.packed)
        return status.serializedBytes()
    }

    @Test("no trailer: no details")
    func noTrailer() {
        #expect(RPCError(code: .internalError, message: "x").details.isEmpty)
    }

    // Each starts with code = 3 (08 03), the RPC's code, so only the malformation can be why it is refused.
    @Test(
        "malformed bytes: no details",
        arguments: [
            [0x08, 0x03, 0x1A, 0x7F, 0x0A],  // details claims 127 bytes
            [0x08, 0x03, 0x08],  // truncated varint
            [0x08, 0x03, 0x0F],  // wire type 7
            [0x08, 0x03, 0x1A, 0x02, 0x12, 0x05],  // an Any whose value overruns it
            [0x08, 0x03, 0x12, 0x02, 0xC3, 0x28],  // message is not UTF-8
        ] as [[UInt8]])
    func malformed(bytes: [UInt8]) {
        let error = RPCError(code: .invalidArgument, message: "x", metadata: [Self.key: .binary(bytes)])
        #expect(error.details.isEmpty)
        #expect(error.statusDetails == nil)
        let wellFormedPrefix = RPCError(code: .invalidArgument, message: "x", metadata: [Self.key: .binary([8, 3])])
        #expect(wellFormedPrefix.statusDetails?.code == 3)
    }

    @Test("random bytes after a matching code never trap")
    func randomBytes() {
        var generator = SplitMix64(seed: 0x5EED)
        for _ in 0..<2_000 {
            let length = Int.random(in: 0...40, using: &generator)
            let bytes: [UInt8] = [0x08, 0x03] + (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let error = RPCError(code: .invalidArgument, message: "x", metadata: [Self.key: .binary(bytes)])
            _ = error.details
        }
    }

    @Test("a Status whose code differs from the RPC's is ignored")
    func mismatchedCode() {
        let bytes = Self.statusBytes(code: 5, details: [.errorInfo(DetailSamples.errorInfo)])
        let mismatched = RPCError(code: .internalError, message: "m", metadata: [Self.key: .binary(bytes)])
        #expect(mismatched.details.isEmpty)
        let matching = RPCError(code: .notFound, message: "m", metadata: [Self.key: .binary(bytes)])
        #expect(matching.details == [.errorInfo(DetailSamples.errorInfo)])
    }

    @Test("two details trailers, or a text one, are ignored")
    func ambiguousTrailers() {
        let bytes = Self.statusBytes(code: 3, details: [.help(.init())])
        var twice = Metadata()
        twice.add(bytes, forKey: Self.key)
        twice.add(bytes, forKey: Self.key)
        #expect(RPCError(code: .invalidArgument, message: "m", metadata: twice).details.isEmpty)
        let text = RPCError(code: .invalidArgument, message: "m", metadata: [Self.key: "CAMSAW0="])
        #expect(text.details.isEmpty)
    }

    @Test("new details replace a trailer already in the metadata; other entries stay")
    func replacesTrailer() {
        let stale = Self.statusBytes(code: 3, details: [.help(.init())])
        let metadata: Metadata = ["x-request-id": "r1", Self.key: .binary(stale)]
        let error = RPCError(
            code: .invalidArgument, message: "m", details: [.localizedMessage(DetailSamples.localizedMessage)],
            metadata: metadata)
        #expect(error.metadata.values(forKey: Self.key).count == 1)
        #expect(error.details == [.localizedMessage(DetailSamples.localizedMessage)])
        #expect(error.metadata["x-request-id"] == "r1")
        let none = RPCError(code: .invalidArgument, message: "m", details: [], metadata: metadata)
        #expect(none.metadata[Self.key] == nil)
        #expect(none.metadata["x-request-id"] == "r1")
    }
}

/// A small seeded generator, so a failing input can be reproduced.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
