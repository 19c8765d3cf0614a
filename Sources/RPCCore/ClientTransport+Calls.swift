import ProtobufWire

// The typed calls generated clients make. Errors reach the caller as `RPCError`: the server's status, or
// INTERNAL when the server's answer breaks the call's shape or does not decode. The streams returned carry
// the response metadata (`ResponseStream.initialMetadata` / `trailingMetadata`); the `...WithMetadata`
// variants return it with the one response.
extension ClientTransport {
    /// Sends one request and returns the one response.
    public func unary<Request: ProtoMessage, Response: ProtoMessage>(
        _ descriptor: MethodDescriptor, _ request: Request, options: CallOptions
    ) async throws -> Response {
        let responses = try await call(
            descriptor, requests: RequestStream(single: request.serializedBytes()), options: options)
        return try await responses.decoded(as: Response.self).onlyMessage()
    }

    /// Sends one request and returns the one response with the response headers' and trailers' metadata.
    public func unaryWithMetadata<Request: ProtoMessage, Response: ProtoMessage>(
        _ descriptor: MethodDescriptor, _ request: Request, options: CallOptions
    ) async throws -> ClientResponse<Response> {
        let responses = try await call(
            descriptor, requests: RequestStream(single: request.serializedBytes()), options: options)
        return try await responses.onlyResponseWithMetadata(as: Response.self)
    }

    /// Sends one request and returns the stream of responses.
    public func serverStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ descriptor: MethodDescriptor, _ request: Request, options: CallOptions
    ) async throws -> ResponseStream<Response> {
        let responses = try await call(
            descriptor, requests: RequestStream(single: request.serializedBytes()), options: options)
        return responses.decoded(as: Response.self)
    }

    /// Sends every message of `requests` and returns the one response.
    public func clientStreaming<Request: ProtoMessage, Response: ProtoMessage, Requests: AsyncSequence & Sendable>(
        _ descriptor: MethodDescriptor, _ requests: Requests, options: CallOptions
    ) async throws -> Response where Requests.Element == Request {
        let responses = try await call(descriptor, requests: RequestStream(encoding: requests), options: options)
        return try await responses.decoded(as: Response.self).onlyMessage()
    }

    /// Sends every message of `requests` and returns the one response with the response headers' and
    /// trailers' metadata.
    public func clientStreamingWithMetadata<
        Request: ProtoMessage, Response: ProtoMessage, Requests: AsyncSequence & Sendable
    >(
        _ descriptor: MethodDescriptor, _ requests: Requests, options: CallOptions
    ) async throws -> ClientResponse<Response> where Requests.Element == Request {
        let responses = try await call(descriptor, requests: RequestStream(encoding: requests), options: options)
        return try await responses.onlyResponseWithMetadata(as: Response.self)
    }

    /// Sends every message of `requests` while returning the stream of responses.
    public func bidirectionalStreaming<
        Request: ProtoMessage, Response: ProtoMessage, Requests: AsyncSequence & Sendable
    >(
        _ descriptor: MethodDescriptor, _ requests: Requests, options: CallOptions
    ) async throws -> ResponseStream<Response> where Requests.Element == Request {
        let responses = try await call(descriptor, requests: RequestStream(encoding: requests), options: options)
        return responses.decoded(as: Response.self)
    }
}

extension ResponseStream where Message == [UInt8] {
    /// The only response, decoded, with the metadata; read up to the status so the trailers are known.
    fileprivate func onlyResponseWithMetadata<Response: ProtoMessage>(
        as type: Response.Type
    ) async throws -> ClientResponse<Response> {
        let message = try await decoded(as: Response.self).onlyMessage()
        return ClientResponse(
            message: message, initialMetadata: try await initialMetadata, trailingMetadata: trailingMetadata)
    }
}
