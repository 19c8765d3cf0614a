import GRPCProtos
import RPCCore

/// grpc.reflection.v1.ServerReflection, answering from a `ReflectionService`.
public struct ReflectionServiceV1: Grpc_Reflection_V1_ServerReflectionService {
    /// The files and services this service describes.
    public let reflection: ReflectionService

    /// Serves `reflection` over the v1 protocol.
    public init(reflection: ReflectionService) {
        self.reflection = reflection
    }

    /// Answers each request in order, one response each, echoing its host and the request itself.
    public func serverReflectionInfo(
        requests: RequestStream<Grpc_Reflection_V1_ServerReflectionRequest>,
        responses: ResponseWriter<Grpc_Reflection_V1_ServerReflectionResponse>,
        context: ServerContext
    ) async throws {
        var session = reflection.makeSession()
        for try await request in requests {
            let answer = session.answer(ReflectionQuery(request))
            try await responses.write(Grpc_Reflection_V1_ServerReflectionResponse(answering: request, with: answer))
        }
    }
}

extension ReflectionQuery {
    /// The question a v1 request asks.
    init(_ request: Grpc_Reflection_V1_ServerReflectionRequest) {
        switch request.messageRequest {
        case .fileByFilename(let path): self = .fileByFilename(path)
        case .fileContainingSymbol(let symbol): self = .fileContainingSymbol(symbol)
        case .fileContainingExtension(let extensionRequest):
            self = .fileContainingExtension(
                containingType: extensionRequest.containingType, number: extensionRequest.extensionNumber)
        case .allExtensionNumbersOfType(let messageType): self = .allExtensionNumbersOfType(messageType)
        case .listServices: self = .listServices
        case nil: self = .unset
        }
    }
}

extension Grpc_Reflection_V1_ServerReflectionResponse {
    /// The v1 response carrying `answer` to `request`.
    init(answering request: Grpc_Reflection_V1_ServerReflectionRequest, with answer: ReflectionAnswer) {
        self.init()
        validHost = request.host
        originalRequest = request
        switch answer {
        case .fileDescriptors(let descriptors):
            var files = Grpc_Reflection_V1_FileDescriptorResponse()
            files.fileDescriptorProto = descriptors
            messageResponse = .fileDescriptorResponse(files)
        case .extensionNumbers(let baseTypeName, let numbers):
            var extensions = Grpc_Reflection_V1_ExtensionNumberResponse()
            extensions.baseTypeName = baseTypeName
            extensions.extensionNumber = numbers
            messageResponse = .allExtensionNumbersResponse(extensions)
        case .serviceNames(let names):
            var list = Grpc_Reflection_V1_ListServiceResponse()
            list.service = names.map { name in
                var service = Grpc_Reflection_V1_ServiceResponse()
                service.name = name
                return service
            }
            messageResponse = .listServicesResponse(list)
        case .error(let code, let message):
            var error = Grpc_Reflection_V1_ErrorResponse()
            error.errorCode = Int32(code.rawValue)
            error.errorMessage = message
            messageResponse = .errorResponse(error)
        }
    }
}
