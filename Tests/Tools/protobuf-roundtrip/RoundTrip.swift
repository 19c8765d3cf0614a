import ProtobufWire

/// Decodes bytes as one message type and encodes the result again.
enum RoundTrip {
    /// The outcome of one request, as the response record's status byte and body.
    enum Outcome {
        /// Decoded and re-encoded; the body is the new encoding.
        case reencoded([UInt8])
        /// The payload was rejected; the body is the error text.
        case decodeError(ProtoDecodingError)
        /// No generated type has that name.
        case unknownType(String)

        /// Status byte of the response record: 0 ok, 1 decode error, 2 unknown type.
        var status: UInt8 {
            switch self {
            case .reencoded: 0
            case .decodeError: 1
            case .unknownType: 2
            }
        }

        /// Body of the response record. Decode errors start with the error kind so the tests can tell a
        /// policy difference (wrong wire type) from a framing error without parsing prose.
        var body: [UInt8] {
            switch self {
            case .reencoded(let bytes): bytes
            case .decodeError(let error): Array("\(error.kind): \(error.description)".utf8)
            case .unknownType(let name): Array("unknown message type \(name)".utf8)
            }
        }
    }

    /// Decodes `payload` as the type registered under `typeName` and re-encodes it.
    static func run(typeName: String, payload: [UInt8]) -> Outcome {
        guard let type = MessageRegistry.typesByName[typeName] else { return .unknownType(typeName) }
        return run(type, payload: payload)
    }

    /// Decodes `payload` as `type` and re-encodes it.
    static func run<Message: ProtoMessage>(_ type: Message.Type, payload: [UInt8]) -> Outcome {
        do throws(ProtoDecodingError) {
            return .reencoded(try Message(serializedBytes: payload).serializedBytes())
        } catch {
            return .decodeError(error)
        }
    }
}
