import Logging
import RPCCore

// Attribute names follow OpenTelemetry's semantic conventions for RPC spans and gRPC
// (https://opentelemetry.io/docs/specs/semconv/rpc/rpc-spans/ and .../grpc/).

extension FinishedCall {
    /// The structured fields of the call's log line: rpc.system, rpc.service, rpc.method,
    /// rpc.grpc.status_code, the status message of a failure, rpc.duration_ms, rpc.peer when known, and
    /// rpc.grpc.request.metadata.<key> for each key of `requestMetadata` in `loggedKeys` only.
    func logMetadata(peer: String?, requestMetadata: Metadata, loggedKeys: Set<String>) -> Logger.Metadata {
        var fields: Logger.Metadata = [
            "rpc.system": "grpc",
            "rpc.service": .string(method.service),
            "rpc.method": .string(method.method),
            "rpc.grpc.status_code": .stringConvertible(code.rawValue),
            "rpc.duration_ms": .stringConvertible(milliseconds),
        ]
        if let failure, !failure.message.isEmpty { fields["rpc.grpc.status_message"] = .string(failure.message) }
        if let peer { fields["rpc.peer"] = .string(peer) }
        for key in loggedKeys {
            let values = requestMetadata.values(forKey: key)
            guard !values.isEmpty else { continue }
            fields["rpc.grpc.request.metadata.\(key)"] = .array(values.map { .string($0.description) })
        }
        return fields
    }
}

/// Metadata keys as they are looked up: lowercased, since gRPC metadata keys are.
func normalizedMetadataKeys(_ keys: Set<String>) -> Set<String> {
    Set(keys.map { $0.lowercased() })
}
