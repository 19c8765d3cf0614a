import ProtobufWire

extension ResponseStream where Message == [UInt8] {
    /// The responses decoded as `Response`; one that does not decode ends the stream with INTERNAL (the server
    /// and client disagree on the schema, a bug), like grpc-java's client-side parse failure.
    func decoded<Response: ProtoMessage>(as type: Response.Type) -> ResponseStream<Response> {
        ResponseStream<Response>(metadata: metadata, makeNext: {
            var iterator: AsyncIterator? = self.makeAsyncIterator()
            return {
                guard let bytes = try await iterator?.next() else { return nil }
                do throws(ProtoDecodingError) {
                    return try Response(serializedBytes: bytes)
                } catch {
                    // Let go of the call so nothing more is read after the failure.
                    iterator = nil
                    throw RPCError(.internalError, "failed to decode response: \(error.description)")
                }
            }
        })
    }
}
