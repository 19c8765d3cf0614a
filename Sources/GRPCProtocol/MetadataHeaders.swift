import ProtobufWire
import RPCCore

/// Custom metadata <-> header fields: reserved names (pseudo-headers, content-type, te, grpc-* reserved
/// ones, connection-specific headers) skipped on the way in; "-bin" values base64 (padded on send; padded or
/// unpadded accepted on receive; several values may be comma-joined).
///
/// user-agent is passed to the application on receive (as grpc-go does) but never sent from metadata.
/// grpc-status-details-bin passes both ways, so applications can send and read rich error details.
public enum MetadataHeaders {
    /// Header fields for `metadata`, in its order; reserved keys are dropped. Call `Metadata.validate()` first:
    /// this does not check names or text values.
    public static func headers(for metadata: Metadata) -> [HeaderField] {
        var fields: [HeaderField] = []
        fields.reserveCapacity(metadata.count)
        for (key, value) in metadata where !ReservedHeaders.isReservedOnSend(key) {
            switch value {
            case .string(let text):
                fields.append(HeaderField(key, text))
            case .binary(let bytes):
                fields.append(HeaderField(key, Base64.encode(bytes)))
            }
        }
        return fields
    }

    /// The custom metadata in received header fields. A "-bin" field is split on "," (PROTOCOL-HTTP2.md:
    /// "Implementations must split Binary-Headers on "," before decoding") and each part decoded; a part that
    /// is not base64 is dropped rather than failing the call. Text values are kept as they arrived.
    public static func metadata(from headers: [HeaderField]) -> Metadata {
        var metadata = Metadata()
        for field in headers where !ReservedHeaders.isReservedOnReceive(field.name) {
            if Metadata.isBinaryKey(field.name) {
                for part in field.value.split(separator: ",", omittingEmptySubsequences: false) {
                    if let bytes = Base64.decodeIfValid(String(part).trimmingASCIISpaces()) {
                        metadata.add(.binary(bytes), forKey: field.name)
                    }
                }
            } else {
                metadata.add(.string(field.value), forKey: field.name)
            }
        }
        return metadata
    }
}
