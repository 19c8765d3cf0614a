import Foundation
import GRPCProtos
import HTTP2Transport
import RPCCore
import Testing

/// The transport over TLS: the server and client each put a TLSSession between the socket and nghttp2.
@Suite("HTTP/2 over TLS")
struct TLSTransportTests {
    /// A fresh development CA and server certificate in a temporary directory.
    private static func makeCertificates() throws -> DevelopmentCertificate {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("hl-transport-tls-\(UUID().uuidString)").path
        return try DevelopmentCertificate.generate(directory: directory)
    }

    @Test("unary and streaming calls work over TLS with the server verified against the development CA")
    func callsOverTLS() async throws {
        let certificates = try Self.makeCertificates()
        let server = try TestServer.start { $0.tls = certificates.serverConfiguration() }
        var configuration = ClientConfiguration(host: "localhost", port: server.port)
        configuration.tls = TLSClientConfiguration(trustRootsPEMPath: certificates.certificateAuthorityPath)
        let transport = try HTTP2ClientTransport(configuration: configuration)
        let client = Grpc_Testing_TestServiceClient(transport: transport)

        var request = Grpc_Testing_SimpleRequest()
        request.responseSize = 314_159
        request.payload = InteropTestService.payload(size: 271_828)
        let response = try await client.unaryCall(request)
        #expect(response.payload?.body.count == 314_159)
        var sizes: [Int] = []
        for try await response in try await client.streamingOutputCall(streamingRequest(sizes: [1, 70_000, 3])) {
            sizes.append(response.payload?.body.count ?? -1)
        }
        #expect(sizes == [1, 70_000, 3])
        await transport.close()
        await server.stop()
    }

    @Test("a client that does not trust the server's CA fails with UNAVAILABLE naming the verification error")
    func untrustedServer() async throws {
        let certificates = try Self.makeCertificates()
        let other = try Self.makeCertificates()
        let server = try TestServer.start { $0.tls = certificates.serverConfiguration() }
        var configuration = ClientConfiguration(host: "localhost", port: server.port)
        configuration.tls = TLSClientConfiguration(trustRootsPEMPath: other.certificateAuthorityPath)
        let transport = try HTTP2ClientTransport(configuration: configuration)
        let client = Grpc_Testing_TestServiceClient(transport: transport)
        let error = await #expect(throws: RPCError.self) { try await client.emptyCall(Grpc_Testing_Empty()) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("certificate verify failed") == true, "\(String(describing: error))")
        #expect(error?.isUnprocessed == true, "no request is sent before the handshake succeeds")
        await transport.close()
        await server.stop()
    }

    @Test("with mutual TLS the handler sees the client's certificate")
    func mutualTLS() async throws {
        let certificates = try Self.makeCertificates()
        let clientCertificate = try certificates.issueClientCertificate(commonName: "clinician-7")
        let seen = CallEvents()
        let method = ServerMethod(
            descriptor: MethodDescriptor(service: "test.Identity", method: "WhoAmI", kind: .unary)
        ) { requests, responses, _ in
            for try await _ in requests {}
            seen.record(ServerCallResponse.current?.peerIdentity?.subject ?? "none")
            try await responses.write([])
        }
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.eventLoopCount = 1
        configuration.tls = certificates.serverConfiguration(clientCertificateVerification: .required)
        let server = GRPCServer(configuration: configuration, services: [ServiceDefinition(name: "test.Identity", methods: [method])])
        let port = try server.start()
        var clientConfiguration = ClientConfiguration(host: "localhost", port: port)
        clientConfiguration.tls = TLSClientConfiguration(
            trustRootsPEMPath: certificates.certificateAuthorityPath,
            certificateChainPEMPath: clientCertificate.certificatePath, privateKeyPEMPath: clientCertificate.privateKeyPath)
        let transport = try HTTP2ClientTransport(configuration: clientConfiguration)
        let responses = try await transport.call(
            method.descriptor, requests: RequestStream([[UInt8]()].async), options: CallOptions())
        for try await _ in responses {}
        #expect(seen.all.count == 1)
        #expect(seen.all.first?.contains("clinician-7") == true, "\(seen.all)")
        await transport.close()
        await server.shutdown(gracePeriod: .seconds(1))
    }
}

extension Array where Element: Sendable {
    /// The elements as an async sequence.
    var async: AsyncStream<Element> {
        AsyncStream { continuation in
            for element in self { continuation.yield(element) }
            continuation.finish()
        }
    }
}
