import ProtobufWire

// The typed constructors the generated `serviceDefinition`s call. Each decodes requests (INVALID_ARGUMENT when
// one does not decode), encodes responses, and turns whatever the body throws into the status the client sees.
extension ServerMethod {
    /// A method taking one request and returning one response.
    public static func unary<Request: ProtoMessage, Response: ProtoMessage>(
        _ descriptor: MethodDescriptor,
        _ body: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) -> ServerMethod {
        ServerMethod(descriptor: descriptor) { requests, responses, context in
            try await withStatusConversion {
                let request = try await requests.decoded(as: Request.self).onlyMessage()
                let response = try await body(request, context)
                try await responses.write(response.serializedBytes())
            }
        }
    }

    /// A method taking one request and streaming responses.
    public static func serverStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ descriptor: MethodDescriptor,
        _ body: @escaping @Sendable (Request, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) -> ServerMethod {
        ServerMethod(descriptor: descriptor) { requests, responses, context in
            try await withStatusConversion {
                let request = try await requests.decoded(as: Request.self).onlyMessage()
                try await body(request, responses.encoding(Response.self), context)
            }
        }
    }

    /// A method reading a stream of requests and returning one response.
    public static func clientStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ descriptor: MethodDescriptor,
        _ body: @escaping @Sendable (RequestStream<Request>, ServerContext) async throws -> Response
    ) -> ServerMethod {
        ServerMethod(descriptor: descriptor) { requests, responses, context in
            try await withStatusConversion {
                let response = try await body(requests.decoded(as: Request.self), context)
                try await responses.write(response.serializedBytes())
            }
        }
    }

    /// A method with streams both ways.
    public static func bidirectionalStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ descriptor: MethodDescriptor,
        _ body:
            @escaping @Sendable (RequestStream<Request>, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) -> ServerMethod {
        ServerMethod(descriptor: descriptor) { requests, responses, context in
            try await withStatusConversion {
                try await body(requests.decoded(as: Request.self), responses.encoding(Response.self), context)
            }
        }
    }
}

/// Runs a handler body so that everything it throws leaves as an `RPCError`.
private func withStatusConversion(_ body: () async throws -> Void) async throws(RPCError) {
    do {
        try await body()
    } catch {
        throw RPCError(convertingHandlerError: error)
    }
}

extension ResponseWriter where Message == [UInt8] {
    /// A writer of `Response` messages that encodes them into this one.
    fileprivate func encoding<Response: ProtoMessage>(_ type: Response.Type) -> ResponseWriter<Response> {
        ResponseWriter<Response> { response in try await self.write(response.serializedBytes()) }
    }
}
