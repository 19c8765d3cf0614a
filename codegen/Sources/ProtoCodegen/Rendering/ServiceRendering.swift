/// Services: the protocol a server implements, method descriptors, the `ServiceDefinition` adapter and a
/// typed client over any `ClientTransport`.
extension SwiftRenderer {
    /// Writes everything generated for `service`.
    func writeService(_ service: Service, in file: ProtoFile, to writer: inout CodeWriter) {
        let base = SwiftNaming.typePrefix(for: file) + service.name
        let methods = service.methods.map { (method: $0, name: SwiftNaming.methodName($0.name)) }
        let methodsEnum = "\(base)Methods"

        writeServiceProtocol(service, base: base, methods: methods, to: &writer)

        writer.line()
        writer.line("/// The methods of `\(service.fullName)`, as RPC descriptors.")
        writer.block("public enum \(methodsEnum) {") { writer in
            for (method, name) in methods {
                writer.beginMember()
                writer.line("/// `\(service.fullName)/\(method.name)`.")
                writer.declaration(
                    "public static let \(name) = MethodDescriptor",
                    "service: \(Self.literal(service.fullName)), method: \(Self.literal(method.name)), "
                        + "kind: .\(Self.kind(of: method))", "")
            }
            writer.beginMember()
            writer.line("/// Every method, in declaration order.")
            writer.arrayLiteral("public static let all: [MethodDescriptor] = ", methods.map(\.name))
        }

        writer.line()
        writer.block("extension \(base)Service {") { writer in
            writer.line("/// This implementation as a service definition a server can register.")
            writer.block("public var serviceDefinition: ServiceDefinition {") { writer in
                writer.line("ServiceDefinition(")
                writer.indented { writer in
                    writer.line("name: \(Self.literal(service.fullName)),")
                    writer.line("methods: [")
                    writer.indented { writer in
                        for (method, name) in methods {
                            let (parameters, call) = Self.serverCall(method, name: name)
                            let opener = ".\(Self.kind(of: method))(\(methodsEnum).\(name)) {"
                            if writer.fits("\(opener) \(parameters) in") {
                                writer.block("\(opener) \(parameters) in", closer: "},") { $0.line(call) }
                            } else {
                                writer.block(opener, closer: "},") { writer in
                                    writer.line("\(parameters) in")
                                    writer.line(call)
                                }
                            }
                        }
                    }
                    writer.line("]")
                }
                writer.line(")")
            }
        }

        writer.line()
        writeClient(service, base: base, methods: methods, to: &writer)
    }

    private func writeServiceProtocol(
        _ service: Service, base: String, methods: [(method: Method, name: String)], to writer: inout CodeWriter
    ) {
        writer.docComment(
            service.comments, extra: service.comments == .none ? ["The server side of `\(service.fullName)`."] : [])
        writer.block("public protocol \(base)Service: Sendable {") { writer in
            for (method, name) in methods {
                let request = types.swiftName(of: method.inputType)
                let response = types.swiftName(of: method.outputType)
                let parameters: String
                let result: String
                switch (method.clientStreaming, method.serverStreaming) {
                case (false, false):
                    parameters = "request: \(request), context: ServerContext"
                    result = " -> \(response)"
                case (false, true):
                    parameters = "request: \(request), responses: ResponseWriter<\(response)>, context: ServerContext"
                    result = ""
                case (true, false):
                    parameters = "requests: RequestStream<\(request)>, context: ServerContext"
                    result = " -> \(response)"
                case (true, true):
                    parameters =
                        "requests: RequestStream<\(request)>, responses: ResponseWriter<\(response)>, context: ServerContext"
                    result = ""
                }
                writer.beginMember()
                writer.docComment(method.comments, extra: method.comments == .none ? ["Handles `\(method.name)`."] : [])
                writer.declaration("func \(name)", parameters, " async throws\(result)")
            }
        }
    }

    private func writeClient(
        _ service: Service, base: String, methods: [(method: Method, name: String)], to writer: inout CodeWriter
    ) {
        writer.line("/// A typed client of `\(service.fullName)` over any transport.")
        writer.block("public struct \(base)Client<Transport: ClientTransport>: Sendable {") { writer in
            writer.line("/// The transport calls go through.")
            writer.line("public let transport: Transport")
            writer.line()
            writer.line("/// Creates a client that calls through `transport`.")
            writer.block("public init(transport: Transport) {") { writer in
                writer.line("self.transport = transport")
            }
            for (method, name) in methods {
                let request = types.swiftName(of: method.inputType)
                let response = types.swiftName(of: method.outputType)
                let descriptor = "\(base)Methods.\(name)"
                let kind = Self.kind(of: method)
                writer.line()
                writer.docComment(method.comments, extra: method.comments == .none ? ["Calls `\(method.name)`."] : [])
                let call: String
                let head: String
                let parameters: String
                let tail: String
                if method.clientStreaming {
                    head = "public func \(name)<Requests: AsyncSequence & Sendable>"
                    parameters = "_ requests: Requests, options: CallOptions = CallOptions()"
                    call = "\(descriptor), requests, options: options"
                } else {
                    head = "public func \(name)"
                    parameters = "_ request: \(request), options: CallOptions = CallOptions()"
                    call = "\(descriptor), request, options: options"
                }
                let returned = method.serverStreaming ? "ResponseStream<\(response)>" : response
                let constraint = method.clientStreaming ? " where Requests.Element == \(request)" : ""
                tail = " async throws -> \(returned)\(constraint) {"
                writer.declaration(head, parameters, tail) { writer in
                    writer.declaration("try await transport.\(kind)", call, "")
                }
            }
        }
    }

    /// The `RPCKind` case of a method.
    private static func kind(of method: Method) -> String {
        switch (method.clientStreaming, method.serverStreaming) {
        case (false, false): "unary"
        case (false, true): "serverStreaming"
        case (true, false): "clientStreaming"
        case (true, true): "bidirectionalStreaming"
        }
    }

    /// Closure parameters and the forwarding call of a server method.
    private static func serverCall(_ method: Method, name: String) -> (parameters: String, call: String) {
        switch (method.clientStreaming, method.serverStreaming) {
        case (false, false):
            ("request, context", "try await self.\(name)(request: request, context: context)")
        case (false, true):
            ("request, responses, context", "try await self.\(name)(request: request, responses: responses, context: context)")
        case (true, false):
            ("requests, context", "try await self.\(name)(requests: requests, context: context)")
        case (true, true):
            ("requests, responses, context", "try await self.\(name)(requests: requests, responses: responses, context: context)")
        }
    }
}
