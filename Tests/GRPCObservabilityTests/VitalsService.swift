import RPCCore

// A small byte-level service (this target has no ProtobufWire), standing in for a generated one: messages
// are raw bytes, which is all interceptors ever see.

/// The methods of a vital-signs service.
enum VitalsMethods {
    static let service = "healthledger.test.Vitals"
    /// Echoes the reading.
    static let record = MethodDescriptor(service: service, method: "Record", kind: .unary)
    /// Always PERMISSION_DENIED: no grant covers the caller.
    static let readOthers = MethodDescriptor(service: service, method: "ReadOthers", kind: .unary)
    /// Always INTERNAL: the server is broken.
    static let reindex = MethodDescriptor(service: service, method: "Reindex", kind: .unary)
    /// Answers a one-byte request n with n readings.
    static let history = MethodDescriptor(service: service, method: "History", kind: .serverStreaming)
    /// Answers the number of readings uploaded, as one byte.
    static let upload = MethodDescriptor(service: service, method: "Upload", kind: .clientStreaming)
    /// Echoes each reading as it arrives.
    static let monitor = MethodDescriptor(service: service, method: "Monitor", kind: .bidirectionalStreaming)
    /// Streams readings until cancelled.
    static let follow = MethodDescriptor(service: service, method: "Follow", kind: .serverStreaming)
    /// Waits a minute, ignoring cancellation, then returns as if all went well.
    static let stubborn = MethodDescriptor(service: service, method: "Stubborn", kind: .unary)
}

/// The service definition a generated `serviceDefinition` would build, in bytes.
func makeVitalsService() -> ServiceDefinition {
    ServiceDefinition(
        name: VitalsMethods.service,
        methods: [
            ServerMethod(descriptor: VitalsMethods.record) { requests, responses, _ in
                for try await reading in requests { try await responses.write(reading) }
            },
            ServerMethod(descriptor: VitalsMethods.readOthers) { requests, _, _ in
                for try await _ in requests {}
                throw RPCError(.permissionDenied, "no grant covers vitals of another patient")
            },
            ServerMethod(descriptor: VitalsMethods.reindex) { _, _, _ in
                throw RPCError(.internalError, "reading index is inconsistent")
            },
            ServerMethod(descriptor: VitalsMethods.history) { requests, responses, _ in
                var count: UInt8 = 0
                for try await request in requests { count = request.first ?? 0 }
                for index in 0..<count { try await responses.write([index]) }
            },
            ServerMethod(descriptor: VitalsMethods.upload) { requests, responses, _ in
                var count: UInt8 = 0
                for try await _ in requests { count += 1 }
                try await responses.write([count])
            },
            ServerMethod(descriptor: VitalsMethods.monitor) { requests, responses, _ in
                for try await reading in requests { try await responses.write(reading) }
            },
            ServerMethod(descriptor: VitalsMethods.follow) { _, responses, _ in
                var index: UInt8 = 0
                while true {
                    try await responses.write([index])
                    index &+= 1
                }
            },
            ServerMethod(descriptor: VitalsMethods.stubborn) { _, _, _ in
                try? await Task.sleep(for: .seconds(60))
            },
        ])
}

/// Calls `method` with `requests` and reads every response; returns them, or the status the call failed with.
func callVitals(
    _ transport: some ClientTransport, _ method: MethodDescriptor, _ requests: [[UInt8]],
    metadata: Metadata = [:]
) async -> Result<[[UInt8]], RPCError> {
    let (stream, sender) = AsyncStream.makeStream(of: [UInt8].self)
    for request in requests { sender.yield(request) }
    sender.finish()
    do {
        var received: [[UInt8]] = []
        let responses = try await transport.call(
            method, requests: RequestStream(stream), options: CallOptions(metadata: metadata))
        for try await response in responses { received.append(response) }
        return .success(received)
    } catch let error as RPCError {
        return .failure(error)
    } catch {
        return .failure(RPCError(convertingHandlerError: error))
    }
}
