import GRPCProtos
import GRPCStandardServices
import RPCCore
import Testing

// grpc.reflection.v1 through the in-process transport and the generated client, the way grpcurl walks a
// server: list the services, fetch a service's file with its imports, look up symbols.

private typealias Request = Grpc_Reflection_V1_ServerReflectionRequest
private typealias Response = Grpc_Reflection_V1_ServerReflectionResponse

private func openConversation() async throws -> ReflectionConversation<Request, Response> {
    let client = Grpc_Reflection_V1_ServerReflectionClient(transport: try TestFixtures.reflectionTransport())
    return try await ReflectionConversation { try await client.serverReflectionInfo($0, options: TestFixtures.options) }
}

private func request(_ question: Request.MessageRequest?, host: String = "") -> Request {
    var request = Request()
    request.host = host
    request.messageRequest = question
    return request
}

/// The files of a file_descriptor_response, by name; fails the test for any other answer.
private func fileNames(_ response: Response) throws -> [String] {
    guard case .fileDescriptorResponse(let files) = response.messageResponse else {
        Issue.record("expected a file_descriptor_response, got \(String(describing: response.messageResponse))")
        return []
    }
    return try TestFixtures.fileNames(files.fileDescriptorProto)
}

/// The error_response's code and message; fails the test for any other answer.
private func errorResponse(_ response: Response) -> (code: Int32, message: String)? {
    guard case .errorResponse(let error) = response.messageResponse else {
        Issue.record("expected an error_response, got \(String(describing: response.messageResponse))")
        return nil
    }
    return (error.errorCode, error.errorMessage)
}

@Suite struct ReflectionV1Tests {
    @Test func listServicesNamesTheServedServicesAndReflectionItself() async throws {
        var conversation = try await openConversation()

        let response = try await conversation.ask(request(.listServices("*")))

        guard case .listServicesResponse(let list) = response.messageResponse else {
            Issue.record("expected list_services_response, got \(String(describing: response.messageResponse))")
            return
        }
        #expect(
            list.service.map(\.name) == [
                "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                "grpc.reflection.v1alpha.ServerReflection", "healthledger.v1.Ledger",
            ])
    }

    @Test func everyResponseEchoesTheHostAndTheRequest() async throws {
        var conversation = try await openConversation()
        let question = request(.fileContainingSymbol("healthledger.v1.Ledger"), host: "node-1.example:443")

        let response = try await conversation.ask(question)

        #expect(response.validHost == "node-1.example:443")
        #expect(response.originalRequest == question)
    }

    @Test func fileByFilenameSendsTheFileAndEveryImport() async throws {
        var conversation = try await openConversation()

        let names = try fileNames(
            try await conversation.ask(request(.fileByFilename("healthledger/v1/ledger_service.proto"))))

        #expect(names.first == "healthledger/v1/ledger_service.proto")
        #expect(Set(names.dropFirst()) == TestFixtures.ledgerServiceImports)
        #expect(names.count == Set(names).count, "each file once")
    }

    @Test func importsAlreadySentOnTheStreamAreNotSentAgain() async throws {
        var conversation = try await openConversation()
        _ = try await conversation.ask(request(.fileByFilename("healthledger/v1/ledger_service.proto")))

        // chain.proto and its imports all came with ledger_service.proto: only the file asked for comes back.
        let again = try fileNames(try await conversation.ask(request(.fileByFilename("healthledger/v1/chain.proto"))))
        #expect(again == ["healthledger/v1/chain.proto"])

        // A new stream starts from nothing.
        var fresh = try await openConversation()
        let first = try fileNames(try await fresh.ask(request(.fileByFilename("healthledger/v1/chain.proto"))))
        #expect(first.first == "healthledger/v1/chain.proto")
        #expect(
            Set(first) == [
                "healthledger/v1/chain.proto", "healthledger/v1/audit.proto", "healthledger/v1/identity.proto",
                "healthledger/v1/transaction.proto", "healthledger/v1/policy.proto", "healthledger/v1/records.proto",
            ])
    }

    @Test(arguments: [
        ("healthledger.v1.Ledger", "healthledger/v1/ledger_service.proto"),  // service
        ("healthledger.v1.Ledger.Grant", "healthledger/v1/ledger_service.proto"),  // method
        ("healthledger.v1.GrantRequest", "healthledger/v1/ledger_service.proto"),  // message
        ("healthledger.v1.Outcome", "healthledger/v1/audit.proto"),  // enum
        ("healthledger.v1.OUTCOME_DENIED", "healthledger/v1/audit.proto"),  // enum value, protoc's scoping
        ("healthledger.v1.Outcome.OUTCOME_DENIED", "healthledger/v1/audit.proto"),  // enum value under its enum
        ("grpc.testing.LoadBalancerStatsResponse.MetadataEntry", "grpc/testing/messages.proto"),  // nested message
        ("grpc.testing.LoadBalancerStatsResponse.RpcsByPeer.RpcsByPeerEntry", "grpc/testing/messages.proto"),
        ("grpc.testing.LoadBalancerStatsResponse.MetadataType", "grpc/testing/messages.proto"),  // nested enum
        ("grpc.testing.SimpleRequest.response_size", "grpc/testing/messages.proto"),  // field
        ("grpc.health.v1.Health.Watch", "grpc/health/v1/health.proto"),  // a standard file, always indexed
        (".healthledger.v1.Ledger", "healthledger/v1/ledger_service.proto"),  // descriptor spelling
    ])
    func fileContainingSymbolFindsTheDeclaringFile(symbol: String, file: String) async throws {
        var conversation = try await openConversation()

        let names = try fileNames(try await conversation.ask(request(.fileContainingSymbol(symbol))))

        #expect(names.first == file)
    }

    @Test func anUnknownSymbolIsAnErrorResponseAndTheStreamGoesOn() async throws {
        var conversation = try await openConversation()

        let failure = errorResponse(
            try await conversation.ask(request(.fileContainingSymbol("healthledger.v1.NoSuchThing"))))
        #expect(failure?.code == Int32(RPCError.Code.notFound.rawValue))
        #expect(failure?.message.contains("healthledger.v1.NoSuchThing") == true)

        let names = try fileNames(try await conversation.ask(request(.fileContainingSymbol("healthledger.v1.Ledger"))))
        #expect(names.first == "healthledger/v1/ledger_service.proto")
        #expect(try await conversation.finish().isEmpty)
    }

    @Test func anUnknownFileIsNotFound() async throws {
        var conversation = try await openConversation()
        let failure = errorResponse(try await conversation.ask(request(.fileByFilename("healthledger/v9/nope.proto"))))
        #expect(failure?.code == 5)
    }

    @Test func aRequestAskingNothingIsInvalidArgument() async throws {
        var conversation = try await openConversation()
        let failure = errorResponse(try await conversation.ask(request(nil)))
        #expect(failure?.code == 3)
        _ = try await conversation.ask(request(.listServices("")))
    }

    @Test func extensionQuestionsAnswerThatThereAreNone() async throws {
        var conversation = try await openConversation()

        let numbers = try await conversation.ask(request(.allExtensionNumbersOfType("healthledger.v1.GrantRequest")))
        guard case .allExtensionNumbersResponse(let extensions) = numbers.messageResponse else {
            Issue.record("expected all_extension_numbers_response, got \(String(describing: numbers.messageResponse))")
            return
        }
        #expect(extensions.baseTypeName == "healthledger.v1.GrantRequest")
        #expect(extensions.extensionNumber.isEmpty)

        let unknownType = errorResponse(try await conversation.ask(request(.allExtensionNumbersOfType("nope.Type"))))
        #expect(unknownType?.code == 5)

        var extensionRequest = Grpc_Reflection_V1_ExtensionRequest()
        extensionRequest.containingType = "healthledger.v1.GrantRequest"
        extensionRequest.extensionNumber = 100
        let noExtension = errorResponse(try await conversation.ask(request(.fileContainingExtension(extensionRequest))))
        #expect(noExtension?.code == 5)
    }
}
