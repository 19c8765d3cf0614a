import GRPCProtos
import ProtobufWire
import RPCCore

// Rich errors as every gRPC implementation sends them: a serialized google.rpc.Status (code, message, details)
// in the binary trailer `grpc-status-details-bin`, next to `grpc-status` and `grpc-message`
// (https://grpc.io/docs/guides/error/#richer-error-model; grpc-go internal/status/status.go `NewWithProto`,
// grpcio-status `rpc_status.from_call`).
extension RPCError {
    /// The trailer key carrying the serialized google.rpc.Status.
    public static let statusDetailsMetadataKey = "grpc-status-details-bin"

    /// Creates an error whose trailers carry `details` in a google.rpc.Status with the same code and message.
    ///
    /// Any `grpc-status-details-bin` already in `metadata` is replaced; with no details none is sent.
    public init(code: Code, message: String, details: [ErrorDetail], metadata: Metadata = [:]) {
        var trailers = metadata
        trailers.removeAll(forKey: Self.statusDetailsMetadataKey)
        if !details.isEmpty {
            var status = Google_Rpc_Status()
            status.code = Int32(code.rawValue)
            status.message = message
            status.details = details.map(\.packed)
            trailers.add(status.serializedBytes(), forKey: Self.statusDetailsMetadataKey)
        }
        self.init(code: code, message: message, metadata: trailers)
    }

    /// The google.rpc.Status in the `grpc-status-details-bin` trailer, or nil when there is none or it cannot
    /// be trusted.
    ///
    /// Lenient like grpc-go's `NewWithProto`: nil when the key is missing or appears more than once, when the
    /// value is not binary or does not decode, and when the Status code differs from this error's code (grpc-go
    /// then drops the details, reporting INTERNAL; grpcio-status raises ValueError). Never traps.
    public var statusDetails: Google_Rpc_Status? {
        let values = metadata.values(forKey: Self.statusDetailsMetadataKey)
        guard values.count == 1, let bytes = values[0].binaryValue else { return nil }
        guard let status = try? Google_Rpc_Status(serializedBytes: bytes) else { return nil }
        guard Int(status.code) == code.rawValue else { return nil }
        return status
    }

    /// The typed details in the `grpc-status-details-bin` trailer, in order; empty when there are none or the
    /// trailer cannot be trusted (see `statusDetails`). Details of types not known here are `.unknown`.
    public var details: [ErrorDetail] {
        statusDetails?.details.map(ErrorDetail.init(unpacking:)) ?? []
    }
}
