import GRPCProtos
import GRPCStatusDetails
import ProtobufWire
import RPCCore
import Testing

/// Details written into an RPCError's trailers come back as they were.
@Suite("Error details round trip")
struct ErrorDetailRoundTripTests {
    @Test("every detail type comes back from the grpc-status-details-bin trailer, in order")
    func everyDetailType() {
        let error = RPCError(code: .failedPrecondition, message: "grant cannot be used", details: DetailSamples.all)
        #expect(error.details == DetailSamples.all)
        #expect(error.code == .failedPrecondition)
        #expect(error.message == "grant cannot be used")
    }

    @Test("the trailer is a binary google.rpc.Status with the error's code and message")
    func trailerHoldsStatus() throws {
        let error = RPCError(code: .notFound, message: "no such record", details: [.errorInfo(DetailSamples.errorInfo)])
        let values = error.metadata.values(forKey: "grpc-status-details-bin")
        try #require(values.count == 1)
        let status = try Google_Rpc_Status(serializedBytes: try #require(values[0].binaryValue))
        #expect(status.code == 5)
        #expect(status.message == "no such record")
        #expect(status.details.map(\.typeUrl) == ["type.googleapis.com/google.rpc.ErrorInfo"])
        #expect(status.details[0].value == DetailSamples.errorInfo.serializedBytes())
    }

    @Test("each kind packs with type.googleapis.com/ and its full name")
    func typeURLs() {
        #expect(
            DetailSamples.all.map(\.packed.typeUrl) == [
                "ErrorInfo", "BadRequest", "RetryInfo", "DebugInfo", "QuotaFailure", "PreconditionFailure",
                "RequestInfo", "ResourceInfo", "Help", "LocalizedMessage",
            ].map { "type.googleapis.com/google.rpc." + $0 })
    }

    @Test("a detail of a type nobody here knows is kept as its Any, byte for byte")
    func unknownAnyKept() {
        var any = Google_Protobuf_Any()
        any.typeUrl = "type.example.com/acme.billing.v1.Invoice"
        any.value = [0x08, 0x96, 0x01, 0x12, 0x02, 0x68, 0x69]
        let error = RPCError(
            code: .aborted, message: "retry", details: [.unknown(any), .errorInfo(DetailSamples.errorInfo)])
        #expect(error.details == [.unknown(any), .errorInfo(DetailSamples.errorInfo)])
    }

    @Test("a known type URL whose bytes do not decode stays .unknown instead of failing the rest")
    func undecodableKnownType() {
        var any = Google_Protobuf_Any()
        any.typeUrl = "type.googleapis.com/google.rpc.BadRequest"
        any.value = [0x0A, 0x05, 0x01]  // field 1 claims 5 bytes, 1 follows
        #expect(ErrorDetail(unpacking: any) == .unknown(any))
        let error = RPCError(code: .invalidArgument, message: "bad", details: [.unknown(any), .help(.init())])
        #expect(error.details == [.unknown(any), .help(.init())])
    }

    @Test("only the type URL's last segment names the type, whatever the prefix")
    func otherPrefix() {
        var any = ErrorDetail.errorInfo(DetailSamples.errorInfo).packed
        any.typeUrl = "example.com/types/google.rpc.ErrorInfo"
        #expect(ErrorDetail(unpacking: any) == .errorInfo(DetailSamples.errorInfo))
        any.typeUrl = "google.rpc.ErrorInfo"
        #expect(ErrorDetail(unpacking: any) == .errorInfo(DetailSamples.errorInfo))
    }
}
