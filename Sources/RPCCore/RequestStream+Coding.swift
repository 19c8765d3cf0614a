import ProtobufWire

extension RequestStream where Message == [UInt8] {
    /// The requests decoded as `Request`; one that does not decode fails the call with INVALID_ARGUMENT naming
    /// the field, since a malformed request is the client's fault.
    func decoded<Request: ProtoMessage>(as type: Request.Type) -> RequestStream<Request> {
        RequestStream<Request>(makeNext: {
            var iterator = self.makeAsyncIterator()
            return {
                guard let bytes = try await iterator.next() else { return nil }
                do throws(ProtoDecodingError) {
                    return try Request(serializedBytes: bytes)
                } catch {
                    throw RPCError(.invalidArgument, error.description)
                }
            }
        })
    }

    /// Each message of `requests`, encoded.
    init<Requests: AsyncSequence & Sendable>(encoding requests: Requests) where Requests.Element: ProtoMessage {
        self.init(makeNext: {
            var iterator = requests.makeAsyncIterator()
            return { try await iterator.next()?.serializedBytes() }
        })
    }
}
