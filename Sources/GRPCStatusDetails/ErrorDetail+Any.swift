import GRPCProtos
import ProtobufWire

extension ErrorDetail {
    /// The prefix of every type URL this module writes, as every gRPC implementation writes it.
    public static let typeURLPrefix = "type.googleapis.com/"

    /// Unpacks a detail from its `Any`: a known google.rpc type when the type URL names one and the bytes
    /// decode as it, `.unknown(any)` otherwise. Never throws: a bad detail must not hide the error it explains.
    ///
    /// Only the type URL's last path segment is read, as protobuf's runtimes do (`Any.Is`, `anypb.MessageName`):
    /// the prefix is a convention, not something to fetch.
    public init(unpacking any: Google_Protobuf_Any) {
        let name = Self.messageName(inTypeURL: any.typeUrl)
        do throws(ProtoDecodingError) {
            switch name {
            case Google_Rpc_ErrorInfo.protoMessageName:
                self = .errorInfo(try Google_Rpc_ErrorInfo(serializedBytes: any.value))
            case Google_Rpc_BadRequest.protoMessageName:
                self = .badRequest(try Google_Rpc_BadRequest(serializedBytes: any.value))
            case Google_Rpc_RetryInfo.protoMessageName:
                self = .retryInfo(try Google_Rpc_RetryInfo(serializedBytes: any.value))
            case Google_Rpc_DebugInfo.protoMessageName:
                self = .debugInfo(try Google_Rpc_DebugInfo(serializedBytes: any.value))
            case Google_Rpc_QuotaFailure.protoMessageName:
                self = .quotaFailure(try Google_Rpc_QuotaFailure(serializedBytes: any.value))
            case Google_Rpc_PreconditionFailure.protoMessageName:
                self = .preconditionFailure(try Google_Rpc_PreconditionFailure(serializedBytes: any.value))
            case Google_Rpc_RequestInfo.protoMessageName:
                self = .requestInfo(try Google_Rpc_RequestInfo(serializedBytes: any.value))
            case Google_Rpc_ResourceInfo.protoMessageName:
                self = .resourceInfo(try Google_Rpc_ResourceInfo(serializedBytes: any.value))
            case Google_Rpc_Help.protoMessageName:
                self = .help(try Google_Rpc_Help(serializedBytes: any.value))
            case Google_Rpc_LocalizedMessage.protoMessageName:
                self = .localizedMessage(try Google_Rpc_LocalizedMessage(serializedBytes: any.value))
            default:
                self = .unknown(any)
            }
        } catch {
            self = .unknown(any)
        }
    }

    /// The detail packed in an `Any` with the type URL "type.googleapis.com/<full message name>";
    /// `.unknown` details are returned exactly as they were.
    public var packed: Google_Protobuf_Any {
        switch self {
        case .errorInfo(let message): Self.pack(message)
        case .badRequest(let message): Self.pack(message)
        case .retryInfo(let message): Self.pack(message)
        case .debugInfo(let message): Self.pack(message)
        case .quotaFailure(let message): Self.pack(message)
        case .preconditionFailure(let message): Self.pack(message)
        case .requestInfo(let message): Self.pack(message)
        case .resourceInfo(let message): Self.pack(message)
        case .help(let message): Self.pack(message)
        case .localizedMessage(let message): Self.pack(message)
        case .unknown(let any): any
        }
    }

    /// The fully-qualified message name a type URL names: the text after its last "/".
    static func messageName(inTypeURL typeURL: String) -> String {
        guard let slash = typeURL.lastIndex(of: "/") else { return typeURL }
        return String(typeURL[typeURL.index(after: slash)...])
    }

    private static func pack<Message: ProtoMessage>(_ message: Message) -> Google_Protobuf_Any {
        var any = Google_Protobuf_Any()
        any.typeUrl = typeURLPrefix + Message.protoMessageName
        any.value = message.serializedBytes()
        return any
    }
}
