import GRPCProtos
import GRPCStandardServices
import RPCCore
import Testing

// grpc.reflection.v1alpha, which older clients (and grpcurl's fallback) still use: same answers as v1.

private typealias Request = Grpc_Reflection_V1alpha_ServerReflectionRequest
private typealias Response = Grpc_Reflection_V1alpha_ServerReflectionResponse

private func openConversation() async throws -> ReflectionConversation<Request, Response> {
    let client = Grpc_Reflection_V1alpha_ServerReflectionClient(transport: try TestFixtures.reflectionTransport())
    return try await ReflectionConversation { try await client.serverReflectionInfo($0, options: TestFixtures.options) }
}

private func request(_ question: Request.MessageRequest?, host: String = "") -> Request {
    var request = Request()
    request.host = host
    request.messageRequest = question
    return request
}

@Suite struct ReflectionV1alphaTests {
    @Test func listServicesNamesTheServedServicesAndReflectionItself() async throws {
        var conversation = try await openConversation()
        let response = try await conversation.ask(request(.listServices("")))
        guard case .listServicesResponse(let list) = response.messageResponse else {
            Issue.record("expected list_services_response, got \(String(describing: response.messageResponse))")
            return
        }
        #expect(list.service.map(\.name).contains("grpc.reflection.v1alpha.ServerReflection"))
        #expect(list.service.map(\.name).contains("healthledger.v1.Ledger"))
    }

    @Test func symbolLookupsSendTheFileWithItsImportsAndErrorsKeepTheStreamOpen() async throws {
        var conversation = try await openConversation()

        let missing = try await conversation.ask(request(.fileContainingSymbol("healthledger.v1.Missing"), host: "h"))
        guard case .errorResponse(let error) = missing.messageResponse else {
            Issue.record("expected error_response, got \(String(describing: missing.messageResponse))")
            return
        }
        #expect(error.errorCode == 5)
        #expect(missing.validHost == "h")
        #expect(missing.originalRequest?.messageRequest == .fileContainingSymbol("healthledger.v1.Missing"))

        let method = try await conversation.ask(request(.fileContainingSymbol("healthledger.v1.Ledger.AuditStream")))
        guard case .fileDescriptorResponse(let files) = method.messageResponse else {
            Issue.record("expected file_descriptor_response, got \(String(describing: method.messageResponse))")
            return
        }
        let names = try TestFixtures.fileNames(files.fileDescriptorProto)
        #expect(names.first == "healthledger/v1/ledger_service.proto")
        #expect(Set(names.dropFirst()) == TestFixtures.ledgerServiceImports)
    }
}
