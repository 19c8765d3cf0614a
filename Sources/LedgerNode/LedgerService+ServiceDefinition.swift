import HealthLedgerProtos
import ProtobufWire
import RPCCore

extension LedgerService {
    /// The service as a server registers it: the generated definition, except that AuditStream writes messages
    /// it encoded itself from the stored ledger entries (`AuditStreamMessages`) instead of typed messages the
    /// transport would encode field by field.
    public var serviceDefinition: ServiceDefinition {
        let generated = Self.generatedDefinition(of: self)
        let methods = generated.methods.map { method -> ServerMethod in
            guard method.descriptor == Healthledger_V1_LedgerMethods.auditStream else { return method }
            return ServerMethod(descriptor: method.descriptor) { requests, responses, context in
                do {
                    let request = try await Self.onlyRequest(requests, as: Healthledger_V1_AuditStreamRequest.self)
                    try await auditStreamEncoded(request: request, responses: responses, context: context)
                } catch {
                    throw RPCError(convertingHandlerError: error)
                }
            }
        }
        return ServiceDefinition(name: generated.name, methods: methods)
    }

    /// The generated definition (the protocol extension's, which `serviceDefinition` above hides on this type).
    private static func generatedDefinition(of service: some Healthledger_V1_LedgerService) -> ServiceDefinition {
        service.serviceDefinition
    }

    /// The one request of a server-streaming call, decoded, with the statuses the generated methods give: INTERNAL
    /// for none or more than one (as grpc-java), INVALID_ARGUMENT for one that does not decode.
    private static func onlyRequest<Request: ProtoMessage>(_ requests: RequestStream<[UInt8]>, as type: Request.Type)
        async throws -> Request
    {
        var iterator = requests.makeAsyncIterator()
        guard let first = try await iterator.next() else {
            throw RPCError(.internalError, "Half-closed without a request")
        }
        guard try await iterator.next() == nil else { throw RPCError(.internalError, "Too many requests") }
        do throws(ProtoDecodingError) {
            return try Request(serializedBytes: first)
        } catch {
            throw RPCError(.invalidArgument, error.description)
        }
    }
}
