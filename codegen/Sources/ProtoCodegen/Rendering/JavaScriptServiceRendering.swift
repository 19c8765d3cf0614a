/// Service clients: one class per service with a method per RPC, calling through a gRPC-Web transport
/// (`clients/web/lib/grpc-web.js`'s `GrpcWebTransport`).
extension JavaScriptRenderer {
    /// Writes the client class of `service`.
    func writeService(_ service: Service, scope: Scope, to writer: inout JavaScriptWriter) {
        let className = JavaScriptNaming.bindingName(service.name + "Client")
        writer.jsDoc(service.comments, extra: ["A client of `\(service.fullName)` over gRPC-Web."])
        writer.block("export class \(className) {") { writer in
            writer.jsDoc(tags: ["@param {GrpcWebTransport} transport The transport every call goes through."])
            writer.block("constructor(transport) {") { writer in
                writer.line("this.transport = transport;")
            }
            for method in service.methods {
                let name = JavaScriptNaming.methodName(method.name)
                let request = scope.name(method.inputType, types: types)
                let response = scope.name(method.outputType, types: types)
                let path = JavaScriptNaming.literal("/\(service.fullName)/\(method.name)")
                let requestParameter: String
                let returns: String
                let call: (String, [String])
                switch (method.clientStreaming, method.serverStreaming) {
                case (false, false):
                    requestParameter = "@param {\(request) | Partial<\(request)>} request"
                    returns = "@returns {Promise<\(response)>}"
                    call = ("return this.transport.unary", [path, "\(request).from(request)", response, "options"])
                case (false, true):
                    requestParameter = "@param {\(request) | Partial<\(request)>} request"
                    returns = "@returns {AsyncIterable<\(response)>}"
                    call = (
                        "return this.transport.serverStream", [path, "\(request).from(request)", response, "options"]
                    )
                case (true, false):
                    requestParameter =
                        "@param {Iterable<\(request) | Partial<\(request)>> | AsyncIterable<\(request) | Partial<\(request)>>} requests"
                    returns = "@returns {Promise<\(response)>}"
                    call = ("return this.transport.clientStream", [path, "requests", request, response, "options"])
                case (true, true):
                    requestParameter =
                        "@param {Iterable<\(request) | Partial<\(request)>> | AsyncIterable<\(request) | Partial<\(request)>>} requests"
                    returns = "@returns {AsyncIterable<\(response)>}"
                    call = ("return this.transport.bidiStream", [path, "requests", request, response, "options"])
                }
                var extra: [String] = []
                if method.comments == .none { extra.append("Calls `\(method.name)`.") }
                if method.clientStreaming {
                    extra.append(
                        "gRPC-Web is half-duplex: every request is sent in one request body before a response is read.")
                }
                writer.line()
                writer.jsDoc(
                    method.comments, extra: extra, tags: [requestParameter, "@param {CallOptions} [options]", returns])
                let parameter = method.clientStreaming ? "requests" : "request"
                writer.block("\(name)(\(parameter), options) {") { writer in
                    writer.call(call.0, call.1)
                }
            }
        }
    }
}
