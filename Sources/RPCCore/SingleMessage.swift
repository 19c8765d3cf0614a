// Unary and client-streaming calls answer exactly once; unary and server-streaming calls ask exactly once.
// The statuses and messages for a peer that breaks this follow grpc-java: ServerCalls replies
// INTERNAL "Half-closed without a request" / "Too many requests", and ClientCalls fails with
// INTERNAL "No value received for unary call" / "More than one value received for unary call".

extension RequestStream {
    /// The only request of a unary or server-streaming call, read up to the client's end of stream.
    func onlyMessage() async throws -> Message {
        var iterator = makeAsyncIterator()
        guard let first = try await iterator.next() else {
            throw RPCError(.internalError, "Half-closed without a request")
        }
        guard try await iterator.next() == nil else {
            throw RPCError(.internalError, "Too many requests")
        }
        return first
    }
}

extension ResponseStream {
    /// The only response of a unary or client-streaming call, read up to the status so a failure after the
    /// message is not missed.
    func onlyMessage() async throws -> Message {
        var iterator = makeAsyncIterator()
        guard let first = try await iterator.next() else {
            throw RPCError(.internalError, "No value received for unary call")
        }
        guard try await iterator.next() == nil else {
            throw RPCError(.internalError, "More than one value received for unary call")
        }
        return first
    }
}
