import Foundation
import Testing

@testable import HTTP2Transport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// TLS sessions as the transport drives them: bytes in, bytes out. Most stories pump a client session and a
/// server session against each other in memory; the interop stories put OpenSSL's own `openssl s_server` /
/// `openssl s_client` on the other end of a loopback socket.
///
/// These stories are synchronous and some wait on sockets and child processes, which holds a thread of the
/// shared concurrency pool; serialized, they hold at most one of them, so the transport suites running beside
/// them keep a thread to serve their calls.
@Suite("TLS sessions", .serialized)
struct TLSSessionTests {
    // MARK: - Handshake and data

    @Test("a client and a server agree on h2 over TLS 1.3, and each sees who the other is")
    func handshakeNegotiatesH2() throws {
        let certificates = try TLSCertificateFixture()
        let link = try TLSSessionLink(
            server: certificates.development.serverConfiguration(), client: certificates.trustingClient())
        link.run()

        #expect(link.clientError == nil && link.serverError == nil)
        #expect(link.client.isHandshakeComplete && link.server.isHandshakeComplete)
        #expect(link.client.negotiatedProtocol == "h2" && link.server.negotiatedProtocol == "h2")
        #expect(link.client.negotiatedVersion == .tls13 && link.server.negotiatedVersion == .tls13)
        let server = try #require(link.client.peerIdentity)
        #expect(server.subject == "CN=localhost,O=HealthLedger development")
        #expect(server.subjectAlternativeNames == ["DNS:localhost", "IP:127.0.0.1"])
        #expect(server == (try TLSPeerIdentity(certificatePEMPath: certificates.development.certificatePath)))
        #expect(server.publicKeySHA256.count == 32)
        // The server asked for no client certificate, so it knows nobody.
        #expect(link.server.peerIdentity == nil)
    }

    @Test("data flows both ways, from a few bytes to 1 MiB in one write")
    func dataBothWays() throws {
        let certificates = try TLSCertificateFixture()
        let link = try TLSSessionLink(
            server: certificates.development.serverConfiguration(), client: certificates.trustingClient())
        link.run()

        let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
        try link.client.write(preface)
        link.run()
        #expect(link.serverReceived == preface)

        var generator = SystemRandomNumberGenerator()
        let large = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try link.server.write(large)
        link.run()
        #expect(link.clientReceived == large)
        try link.client.write(large)
        link.run()
        #expect(link.serverReceived == preface + large)
        #expect(link.clientError == nil && link.serverError == nil)
    }

    @Test("plaintext written before the handshake finishes is sent right after it")
    func earlyWritesAreHeld() throws {
        let certificates = try TLSCertificateFixture()
        let link = try TLSSessionLink(
            server: certificates.development.serverConfiguration(), client: certificates.trustingClient())
        try link.client.write(Array("hello before handshake".utf8))
        link.run()
        #expect(link.serverReceived == Array("hello before handshake".utf8))
    }

    @Test("a client capped at TLS 1.2 gets TLS 1.2 with an ECDHE AEAD suite, and still h2")
    func tls12WhenCapped() throws {
        let certificates = try TLSCertificateFixture()
        var client = certificates.trustingClient()
        client.maximumVersion = .tls12
        let link = try TLSSessionLink(server: certificates.development.serverConfiguration(), client: client)
        link.run()

        #expect(link.clientError == nil && link.serverError == nil)
        #expect(link.client.negotiatedVersion == .tls12 && link.server.negotiatedVersion == .tls12)
        #expect(link.client.negotiatedProtocol == "h2")
        let suite = try #require(link.client.cipherSuite)
        #expect(TLSContext.tls12CipherList.split(separator: ":").contains(Substring(suite)))
        try link.client.write(Array("over 1.2".utf8))
        link.run()
        #expect(link.serverReceived == Array("over 1.2".utf8))
    }

    @Test(
        "a client that does not offer h2 is refused with no_application_protocol (RFC 7301)",
        arguments: [["http/1.1"], []])
    func clientWithoutH2IsRefused(offered: [String]) throws {
        let certificates = try TLSCertificateFixture()
        var client = certificates.trustingClient()
        client.offeredApplicationProtocols = offered
        let link = try TLSSessionLink(server: certificates.development.serverConfiguration(), client: client)
        link.run()

        #expect(!link.server.isHandshakeComplete && !link.client.isHandshakeComplete)
        let serverError = try #require(link.serverError)
        #expect(serverError.message.hasPrefix("TLS: handshake failed"))
        let clientError = try #require(link.clientError)
        #expect(clientError.message.contains("no application protocol"), "\(clientError)")
    }

    @Test("plaintext never flows after a refused handshake")
    func noPlaintextAfterRefusal() throws {
        let certificates = try TLSCertificateFixture()
        var client = certificates.trustingClient()
        client.offeredApplicationProtocols = ["http/1.1"]
        let link = try TLSSessionLink(server: certificates.development.serverConfiguration(), client: client)
        try link.client.write(Array("secret".utf8))
        link.run()
        #expect(link.serverReceived.isEmpty)
        #expect(throws: TLSError.self) { try link.client.write(Array("more".utf8)) }
    }

    // MARK: - Verifying the server

    @Test("a server certificate for another host name is refused")
    func wrongHostName() throws {
        let certificates = try TLSCertificateFixture()
        let link = try TLSSessionLink(
            server: certificates.development.serverConfiguration(), client: certificates.trustingClient(),
            serverName: "records.example.org")
        link.run()

        let error = try #require(link.clientError)
        #expect(error.message.contains("certificate verify failed"), "\(error)")
        #expect(error.message.lowercased().contains("hostname mismatch"), "\(error)")
        #expect(!link.client.isHandshakeComplete)
    }

    @Test("an IP address is checked against the certificate's IP SANs, and is not sent as SNI")
    func ipAddressVerification() throws {
        let certificates = try TLSCertificateFixture()
        let accepted = try TLSSessionLink(
            server: certificates.development.serverConfiguration(), client: certificates.trustingClient(),
            serverName: "127.0.0.1")
        accepted.run()
        #expect(accepted.clientError == nil && accepted.client.isHandshakeComplete)

        let refused = try TLSSessionLink(
            server: certificates.development.serverConfiguration(), client: certificates.trustingClient(),
            serverName: "127.0.0.2")
        refused.run()
        let error = try #require(refused.clientError)
        #expect(error.message.contains("IP address mismatch"), "\(error)")
    }

    @Test("serverNameOverride replaces the name connected to")
    func serverNameOverride() throws {
        let certificates = try TLSCertificateFixture()
        var client = certificates.trustingClient()
        client.serverNameOverride = "localhost"
        let link = try TLSSessionLink(
            server: certificates.development.serverConfiguration(), client: client, serverName: "10.1.2.3")
        link.run()
        #expect(link.clientError == nil && link.client.isHandshakeComplete)
    }

    @Test("a server certificate from a CA the client does not trust is refused")
    func untrustedServer() throws {
        let certificates = try TLSCertificateFixture()
        let client = TLSClientConfiguration(trustRootsPEMPath: certificates.otherAuthority.certificateAuthorityPath)
        let link = try TLSSessionLink(server: certificates.development.serverConfiguration(), client: client)
        link.run()

        let error = try #require(link.clientError)
        #expect(error.message.contains("certificate verify failed"), "\(error)")
        #expect(error.message.contains("unable to get local issuer certificate"), "\(error)")
        // The client's alert reached the server, which fails too instead of waiting forever.
        #expect(link.serverError != nil)
    }

    @Test("with verifyServer false an untrusted certificate for another name is accepted (development only)")
    func verificationOff() throws {
        let certificates = try TLSCertificateFixture()
        let client = TLSClientConfiguration(
            trustRootsPEMPath: certificates.otherAuthority.certificateAuthorityPath, verifyServer: false)
        let link = try TLSSessionLink(
            server: certificates.development.serverConfiguration(), client: client, serverName: "elsewhere.example")
        link.run()
        #expect(link.clientError == nil && link.client.negotiatedProtocol == "h2")
        #expect(link.client.peerIdentity?.subject == "CN=localhost,O=HealthLedger development")
    }

    @Test("a verifying client without a server name is refused before sending anything")
    func verifyingClientNeedsName() throws {
        let certificates = try TLSCertificateFixture()
        let context = try TLSContext(client: certificates.trustingClient())
        #expect(throws: TLSError.self) { try TLSSession(context: context, serverName: nil) }
    }

    // MARK: - Mutual TLS

    @Test("a server requiring client certificates refuses a client without one")
    func mutualTLSRequiredWithoutCertificate() throws {
        let certificates = try TLSCertificateFixture()
        let link = try TLSSessionLink(
            server: certificates.development.serverConfiguration(clientCertificateVerification: .required),
            client: certificates.trustingClient())
        try link.client.write(Array("let me in".utf8))
        link.run()

        let error = try #require(link.serverError)
        #expect(error.message.contains("peer did not return a certificate"), "\(error)")
        #expect(link.serverReceived.isEmpty)
        // In TLS 1.3 the client finishes first, then learns of the refusal from the server's alert.
        #expect(link.clientError != nil)
    }

    @Test("a server requiring client certificates accepts one from its CA and sees the client's subject and key")
    func mutualTLSRequiredWithCertificate() throws {
        let certificates = try TLSCertificateFixture()
        let link = try TLSSessionLink(
            server: certificates.development.serverConfiguration(clientCertificateVerification: .required),
            client: certificates.trustingClient(presenting: certificates.clinician))
        try link.client.write(Array("let me in".utf8))
        link.run()

        #expect(link.serverError == nil && link.clientError == nil)
        #expect(link.serverReceived == Array("let me in".utf8))
        let clinician = try #require(link.server.peerIdentity)
        #expect(clinician.subject == "CN=clinician-7,O=HealthLedger development")
        #expect(clinician.subjectAlternativeNames == ["URI:healthledger:principal:clinician-7"])
        let fromFile = try TLSPeerIdentity(certificatePEMPath: certificates.clinician.certificatePath)
        #expect(clinician.publicKeySHA256 == fromFile.publicKeySHA256)
        #expect(clinician.certificateDER == fromFile.certificateDER)
        if let pin = OpenSSLCommandLine.publicKeySHA256(ofCertificate: certificates.clinician.certificatePath) {
            #expect(clinician.publicKeySHA256 == pin, "our SPKI hash must match openssl's")
        }
    }

    @Test("a client certificate from another CA is refused even when certificates are optional")
    func mutualTLSForeignCertificate() throws {
        let certificates = try TLSCertificateFixture()
        let stranger = try certificates.otherAuthority.issueClientCertificate(commonName: "stranger", name: "stranger")
        let link = try TLSSessionLink(
            server: certificates.development.serverConfiguration(clientCertificateVerification: .optional),
            client: certificates.trustingClient(presenting: stranger))
        link.run()
        let error = try #require(link.serverError)
        #expect(error.message.contains("certificate verify failed"), "\(error)")
    }

    @Test("a server with optional client certificates accepts a client without one, knowing nobody")
    func mutualTLSOptionalWithoutCertificate() throws {
        let certificates = try TLSCertificateFixture()
        let link = try TLSSessionLink(
            server: certificates.development.serverConfiguration(clientCertificateVerification: .optional),
            client: certificates.trustingClient())
        try link.client.write(Array("anonymous".utf8))
        link.run()
        #expect(link.serverError == nil && link.serverReceived == Array("anonymous".utf8))
        #expect(link.server.peerIdentity == nil)
    }

    // MARK: - Configuration errors

    @Test("a key that does not match the certificate is refused with a message naming the key file")
    func keyCertificateMismatch() throws {
        let certificates = try TLSCertificateFixture()
        let configuration = TLSConfiguration(
            certificateChainPEMPath: certificates.development.certificatePath,
            privateKeyPEMPath: certificates.development.certificateAuthorityKeyPath)
        let error = try #require(throws: TLSError.self) { try TLSContext(server: configuration) }
        #expect(error.message.contains(certificates.development.certificateAuthorityKeyPath))
        #expect(error.message.contains("key values mismatch"), "\(error)")
        #expect(!error.message.contains("\n"))
    }

    @Test("missing and malformed files are reported with their path and OpenSSL's reason")
    func unreadableFiles() throws {
        let certificates = try TLSCertificateFixture()
        let missing = certificates.directory + "/missing.pem"
        let missingError = try #require(throws: TLSError.self) {
            try TLSContext(
                server: TLSConfiguration(
                    certificateChainPEMPath: missing, privateKeyPEMPath: certificates.development.privateKeyPath))
        }
        #expect(
            missingError.message.contains(missing) && missingError.message.contains("No such file"), "\(missingError)")

        let garbage = certificates.directory + "/garbage.pem"
        try Data("not PEM at all\n".utf8).write(to: URL(fileURLWithPath: garbage))
        let garbageKey = try #require(throws: TLSError.self) {
            try TLSContext(
                server: TLSConfiguration(
                    certificateChainPEMPath: certificates.development.certificatePath, privateKeyPEMPath: garbage))
        }
        #expect(garbageKey.message.contains("private key from \(garbage)"), "\(garbageKey)")
        #expect(garbageKey.message.contains("No supported data to decode"), "\(garbageKey)")
        let garbageChain = try #require(throws: TLSError.self) {
            try TLSContext(
                server: TLSConfiguration(
                    certificateChainPEMPath: garbage, privateKeyPEMPath: certificates.development.privateKeyPath))
        }
        #expect(garbageChain.message.contains("certificate chain from \(garbage)"), "\(garbageChain)")
        #expect(garbageChain.message.contains("no start line"), "\(garbageChain)")

        let noRoots = try #require(throws: TLSError.self) {
            try TLSContext(
                server: TLSConfiguration(
                    certificateChainPEMPath: certificates.development.certificatePath,
                    privateKeyPEMPath: certificates.development.privateKeyPath, clientCertificateVerification: .required
                ))
        }
        #expect(noRoots.message.contains("trustRootsPEMPath"))
    }

    // MARK: - Hostile input

    @Test(
        "garbage instead of a ClientHello is a TLSError, and stays one",
        arguments: [
            Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8),
            [0x16, 0x03, 0x01, 0xFF, 0xFF] + [UInt8](repeating: 0xAA, count: 300), [UInt8](repeating: 0, count: 64),
        ])
    func garbageHandshake(bytes: [UInt8]) throws {
        let certificates = try TLSCertificateFixture()
        let server = try TLSSession(
            context: TLSContext(server: certificates.development.serverConfiguration()), serverName: nil)
        let error = try #require(throws: TLSError.self) {
            try bytes.withUnsafeBytes { try server.receiveCiphertext($0) }
        }
        #expect(error.message.hasPrefix("TLS: handshake failed"), "\(error)")
        #expect(throws: TLSError.self) { try bytes.withUnsafeBytes { try server.receiveCiphertext($0) } }
        var plaintext: [UInt8] = []
        #expect(throws: TLSError.self) { _ = try server.readPlaintext(into: &plaintext) }
        var alert: [UInt8] = []
        server.takeCiphertext(into: &alert)  // an alert, or nothing; never a crash
        #expect(alert.count < 64)
    }

    @Test("a tampered record after the handshake is a TLSError (bad record MAC), not data")
    func tamperedRecord() throws {
        let certificates = try TLSCertificateFixture()
        let link = try TLSSessionLink(
            server: certificates.development.serverConfiguration(), client: certificates.trustingClient())
        link.run()
        try link.client.write(Array("transfer 10 records".utf8))
        var record: [UInt8] = []
        link.client.takeCiphertext(into: &record)
        record[record.count - 3] ^= 0x01
        try record.withUnsafeBytes { try link.server.receiveCiphertext($0) }
        var plaintext: [UInt8] = []
        let error = try #require(throws: TLSError.self) { _ = try link.server.readPlaintext(into: &plaintext) }
        #expect(error.message.contains("bad record mac") || error.message.contains("decryption failed"), "\(error)")
        #expect(plaintext.isEmpty)
    }

    // MARK: - Closing

    @Test("shutdown sends close_notify; the peer sees a clean close and can still answer before its own")
    func closeNotify() throws {
        let certificates = try TLSCertificateFixture()
        let link = try TLSSessionLink(
            server: certificates.development.serverConfiguration(), client: certificates.trustingClient())
        link.run()
        try link.client.write(Array("last words".utf8))
        link.client.shutdown()
        link.run()
        #expect(link.serverReceived == Array("last words".utf8))
        #expect(link.server.isClosedByPeer)
        #expect(throws: TLSError.self) { try link.client.write(Array("too late".utf8)) }

        try link.server.write(Array("goodbye".utf8))
        link.server.shutdown()
        link.run()
        #expect(link.clientReceived == Array("goodbye".utf8))
        #expect(link.client.isClosedByPeer)
        #expect(link.clientError == nil && link.serverError == nil)
    }

    // MARK: - Development certificates

    @Test("development certificates are PEM files with private keys readable only by their owner")
    func developmentCertificateFiles() throws {
        let certificates = try TLSCertificateFixture()
        let development = certificates.development
        #expect(DevelopmentCertificate.existing(in: certificates.directory) == development)
        #expect(DevelopmentCertificate.existing(in: certificates.directory + "/nothing-here") == nil)
        for key in [
            development.privateKeyPath, development.certificateAuthorityKeyPath, certificates.clinician.privateKeyPath,
        ] {
            var status = stat()
            #expect(stat(key, &status) == 0)
            #expect(status.st_mode & 0o777 == 0o600, "\(key)")
        }
        let authority = try TLSPeerIdentity(certificatePEMPath: development.certificateAuthorityPath)
        #expect(authority.subject == "CN=HealthLedger development CA,O=HealthLedger development")
    }

    @Test(
        "openssl itself verifies the development chain, the SAN and the one-year validity",
        .enabled(if: OpenSSLCommandLine.path != nil, "the openssl command-line tool is not installed"))
    func developmentCertificateVerifiesWithOpenSSL() throws {
        let certificates = try TLSCertificateFixture()
        let development = certificates.development
        let verify = OpenSSLCommandLine.run([
            "verify", "-CAfile", development.certificateAuthorityPath, "-purpose", "sslserver", "-verify_hostname",
            "localhost", "-verify_ip", "127.0.0.1", development.certificatePath,
        ])
        #expect(verify.status == 0 && verify.output.contains("OK"), "\(verify.output)")
        let client = OpenSSLCommandLine.run([
            "verify", "-CAfile", development.certificateAuthorityPath, "-purpose", "sslclient",
            certificates.clinician.certificatePath,
        ])
        #expect(client.status == 0, "\(client.output)")
        let text = OpenSSLCommandLine.run(["x509", "-in", development.certificatePath, "-noout", "-text"]).output
        #expect(text.contains("DNS:localhost, IP Address:127.0.0.1"))
        #expect(text.contains("ASN1 OID: prime256v1") && text.contains("ecdsa-with-SHA256"))
        #expect(text.contains("TLS Web Server Authentication"))
        #expect(
            OpenSSLCommandLine.run([
                "x509", "-in", development.certificatePath, "-noout", "-checkend", "\(360 * 86400)",
            ]).status == 0)
        #expect(
            OpenSSLCommandLine.run([
                "x509", "-in", development.certificatePath, "-noout", "-checkend", "\(366 * 86400)",
            ]).status != 0)
    }

    // MARK: - Interoperability with OpenSSL's own tools

    @Test(
        "our client talks to openssl s_server: h2 agreed, data echoed back",
        .enabled(if: OpenSSLCommandLine.path != nil, "the openssl command-line tool is not installed"),
        arguments: [TLSVersion.tls13, .tls12])
    func clientAgainstOpenSSLServer(version: TLSVersion) throws {
        let certificates = try TLSCertificateFixture()
        let server = try OpenSSLServerProcess(
            certificates: certificates, extraArguments: ["-alpn", "h2", version == .tls12 ? "-tls1_2" : "-tls1_3"])
        let socket = try TLSLoopbackSocket.open(port: server.port)
        let session = try TLSSession(
            context: TLSContext(client: certificates.trustingClient()), serverName: "localhost")
        try session.write(Array("hello healthledger\n".utf8))

        let received = try socket.drive(session) { $0.contains(UInt8(ascii: "\n")) }
        #expect(String(decoding: received, as: UTF8.self) == "regdelhtlaeh olleh\n")
        #expect(session.negotiatedProtocol == "h2" && session.negotiatedVersion == version)
        #expect(session.peerIdentity?.subject == "CN=localhost,O=HealthLedger development")
        session.shutdown()
        try socket.flush(session)
    }

    @Test(
        "our client refuses an openssl s_server that does not select h2, or offers only CBC suites",
        .enabled(if: OpenSSLCommandLine.path != nil, "the openssl command-line tool is not installed"),
        arguments: [["-tls1_3"], ["-tls1_2", "-alpn", "h2", "-cipher", "ECDHE-ECDSA-AES128-SHA"]])
    func clientRefusesOpenSSLServer(arguments: [String]) throws {
        let certificates = try TLSCertificateFixture()
        let server = try OpenSSLServerProcess(certificates: certificates, extraArguments: arguments)
        let socket = try TLSLoopbackSocket.open(port: server.port)
        let session = try TLSSession(
            context: TLSContext(client: certificates.trustingClient()), serverName: "localhost")
        let error = try #require(throws: TLSError.self) { _ = try socket.drive(session) { _ in false } }
        if arguments.contains("-cipher") {
            #expect(error.message.contains("handshake failure") || error.message.contains("no cipher"), "\(error)")
        } else {
            #expect(error.message.contains("did not select ALPN protocol h2"), "\(error)")
        }
    }

    @Test(
        "our client presents its certificate to an openssl s_server that requires one",
        .enabled(if: OpenSSLCommandLine.path != nil, "the openssl command-line tool is not installed"))
    func clientCertificateToOpenSSLServer() throws {
        let certificates = try TLSCertificateFixture()
        let arguments = [
            "-alpn", "h2", "-Verify", "1", "-verify_return_error", "-CAfile",
            certificates.development.certificateAuthorityPath,
        ]
        let server = try OpenSSLServerProcess(certificates: certificates, extraArguments: arguments)
        let socket = try TLSLoopbackSocket.open(port: server.port)
        let context = try TLSContext(client: certificates.trustingClient(presenting: certificates.clinician))
        let session = try TLSSession(context: context, serverName: "localhost")
        try session.write(Array("mtls\n".utf8))
        let received = try socket.drive(session) { $0.contains(UInt8(ascii: "\n")) }
        #expect(String(decoding: received, as: UTF8.self) == "sltm\n")
    }

    @Test(
        "openssl s_client talks to our server: it verifies us, agrees on h2, and gets our answer",
        .enabled(if: OpenSSLCommandLine.path != nil, "the openssl command-line tool is not installed"))
    func openSSLClientAgainstOurServer() throws {
        let certificates = try TLSCertificateFixture()
        let listener = try TLSLoopbackListener()
        let client = try OpenSSLClientProcess(
            port: listener.port, input: "ping\n",
            arguments: [
                "-alpn", "h2", "-CAfile", certificates.development.certificateAuthorityPath, "-servername", "localhost",
                "-verify_hostname", "localhost", "-verify_return_error", "-ign_eof",
            ],
            directory: certificates.directory)
        let socket = try listener.acceptConnection()
        let session = try TLSSession(
            context: TLSContext(server: certificates.development.serverConfiguration()), serverName: nil)
        let received = try socket.drive(session) { $0.contains(UInt8(ascii: "\n")) }
        #expect(received == Array("ping\n".utf8))
        try session.write(Array("pong\n".utf8))
        session.shutdown()
        try socket.flush(session)
        socket.closeSocket()

        let output = client.waitForOutput()
        #expect(output.contains("ALPN protocol: h2"), "\(output)")
        #expect(output.contains("Verify return code: 0 (ok)"), "\(output)")
        #expect(output.contains("TLSv1.3"), "\(output)")
        #expect(output.contains("pong"), "\(output)")
    }

    @Test(
        "openssl s_client without h2 is refused by our server with no_application_protocol",
        .enabled(if: OpenSSLCommandLine.path != nil, "the openssl command-line tool is not installed"),
        arguments: [["-alpn", "http/1.1"], []])
    func openSSLClientWithoutH2(arguments: [String]) throws {
        let certificates = try TLSCertificateFixture()
        let listener = try TLSLoopbackListener()
        let client = try OpenSSLClientProcess(
            port: listener.port, input: "",
            arguments: arguments + ["-CAfile", certificates.development.certificateAuthorityPath],
            directory: certificates.directory)
        let socket = try listener.acceptConnection()
        let session = try TLSSession(
            context: TLSContext(server: certificates.development.serverConfiguration()), serverName: nil)
        #expect(throws: TLSError.self) { _ = try socket.drive(session) { _ in false } }
        socket.closeSocket()
        let output = client.waitForOutput()
        #expect(output.contains("no application protocol"), "\(output)")
    }

    @Test(
        "openssl s_client with a client certificate is identified by our server",
        .enabled(if: OpenSSLCommandLine.path != nil, "the openssl command-line tool is not installed"))
    func openSSLClientCertificate() throws {
        let certificates = try TLSCertificateFixture()
        let listener = try TLSLoopbackListener()
        let client = try OpenSSLClientProcess(
            port: listener.port, input: "hi\n",
            arguments: [
                "-alpn", "h2", "-CAfile", certificates.development.certificateAuthorityPath,
                "-cert", certificates.clinician.certificatePath, "-key", certificates.clinician.privateKeyPath,
            ],
            directory: certificates.directory)
        let socket = try listener.acceptConnection()
        let configuration = certificates.development.serverConfiguration(clientCertificateVerification: .required)
        let session = try TLSSession(context: TLSContext(server: configuration), serverName: nil)
        let received = try socket.drive(session) { $0.contains(UInt8(ascii: "\n")) }
        #expect(received == Array("hi\n".utf8))
        #expect(session.peerIdentity?.subject == "CN=clinician-7,O=HealthLedger development")
        session.shutdown()
        try socket.flush(session)
        socket.closeSocket()
        _ = client.waitForOutput()
    }
}

// MARK: - Fixtures

/// A temporary directory holding a development CA with its server certificate, a clinician's client certificate
/// from that CA, and an unrelated second CA; removed when the fixture goes away.
private final class TLSCertificateFixture {
    let directory: String
    let development: DevelopmentCertificate
    let clinician: DevelopmentCertificate.IssuedCertificate
    let otherAuthority: DevelopmentCertificate

    init() throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/tls-tests-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw TLSError("cannot make a temporary directory") }
        directory = String(cString: made)
        development = try DevelopmentCertificate.generate(directory: directory)
        clinician = try development.issueClientCertificate(
            commonName: "clinician-7", subjectAltNames: ["URI:healthledger:principal:clinician-7"], name: "clinician")
        otherAuthority = try DevelopmentCertificate.generate(directory: directory + "/other")
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A client trusting the development CA, optionally presenting a client certificate.
    func trustingClient(presenting identity: DevelopmentCertificate.IssuedCertificate? = nil) -> TLSClientConfiguration
    {
        TLSClientConfiguration(
            trustRootsPEMPath: development.certificateAuthorityPath, certificateChainPEMPath: identity?.certificatePath,
            privateKeyPEMPath: identity?.privateKeyPath)
    }
}

/// A client session and a server session joined in memory: `run` moves ciphertext both ways until both fall
/// silent, decrypting whatever arrives and remembering each side's first error.
private final class TLSSessionLink {
    let client: TLSSession
    let server: TLSSession
    private(set) var clientReceived: [UInt8] = []
    private(set) var serverReceived: [UInt8] = []
    private(set) var clientError: TLSError?
    private(set) var serverError: TLSError?

    init(server: TLSConfiguration, client: TLSClientConfiguration, serverName: String = "localhost") throws {
        self.server = try TLSSession(context: TLSContext(server: server), serverName: nil)
        self.client = try TLSSession(context: TLSContext(client: client), serverName: serverName)
    }

    func run() {
        var moving = true
        while moving {
            let toServer = Self.transfer(from: client, to: server, received: &serverReceived, error: &serverError)
            let toClient = Self.transfer(from: server, to: client, received: &clientReceived, error: &clientError)
            moving = toServer || toClient
        }
    }

    private static func transfer(
        from sender: TLSSession, to receiver: TLSSession, received: inout [UInt8], error: inout TLSError?
    ) -> Bool {
        var bytes: [UInt8] = []
        sender.takeCiphertext(into: &bytes)
        guard !bytes.isEmpty else { return false }
        guard error == nil else { return true }  // a failed session's socket would be closed: drop the bytes
        do {
            try bytes.withUnsafeBytes { try receiver.receiveCiphertext($0) }
            _ = try receiver.readPlaintext(into: &received)
        } catch let failure as TLSError {
            error = failure
        } catch {
            Issue.record("unexpected error \(error)")
        }
        return true
    }
}

private extension TLSSession {
    /// Encrypts a byte array (tests' shorthand for writePlaintext).
    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writePlaintext($0) }
    }
}

// MARK: - OpenSSL's command-line tool

/// The `openssl` command-line tool, when installed: an implementation nobody here wrote, to check ours against.
private enum OpenSSLCommandLine {
    static let path: String? = ["/usr/bin/openssl", "/usr/local/bin/openssl", "/opt/homebrew/bin/openssl"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs the tool to completion; output is stdout and stderr together.
    static func run(_ arguments: [String]) -> (status: Int32, output: String) {
        guard let path else { return (-1, "") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// SHA-256 of a certificate's SubjectPublicKeyInfo DER, computed by the tool (x509 -pubkey | pkey | dgst).
    static func publicKeySHA256(ofCertificate path: String) -> [UInt8]? {
        guard let tool = self.path else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [
            "-c",
            "\"$0\" x509 -in \"$1\" -pubkey -noout | \"$0\" pkey -pubin -outform DER | \"$0\" dgst -sha256 -binary",
            tool, path,
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 && data.count == 32 ? Array(data) : nil
    }
}

/// `openssl s_server -rev` (echoes each line reversed) on an ephemeral loopback port, for one connection.
private final class OpenSSLServerProcess {
    let port: UInt16
    private let process = Process()

    init(certificates: TLSCertificateFixture, extraArguments: [String]) throws {
        let log = certificates.directory + "/s_server-\(UInt32.random(in: 0...UInt32.max)).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.executableURL = URL(fileURLWithPath: OpenSSLCommandLine.path!)
        process.arguments =
            [
                "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-rev",
                "-cert", certificates.development.certificatePath, "-key", certificates.development.privateKeyPath,
            ] + extraArguments
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = process.standardOutput
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // s_server prints "ACCEPT 127.0.0.1:<port>" once it listens.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("ACCEPT") }),
                let port = line.split(separator: ":").last.flatMap({ UInt16($0) })
            {
                self.port = port
                return
            }
            usleep(20_000)
        }
        process.terminate()
        throw TLSError("openssl s_server did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    deinit {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

/// `openssl s_client` connecting to a loopback port, with `input` on its stdin; output collected in a file.
private final class OpenSSLClientProcess {
    private let process = Process()
    private let log: String

    init(port: UInt16, input: String, arguments: [String], directory: String) throws {
        log = directory + "/s_client-\(UInt32.random(in: 0...UInt32.max)).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.executableURL = URL(fileURLWithPath: OpenSSLCommandLine.path!)
        process.arguments = ["s_client", "-connect", "127.0.0.1:\(port)"] + arguments
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = process.standardOutput
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try? stdin.fileHandleForWriting.close()
    }

    /// Waits (at most ten seconds) for s_client to exit and returns what it printed.
    func waitForOutput() -> String {
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

// MARK: - Loopback sockets

/// A listening TCP socket on 127.0.0.1 with an ephemeral port.
private final class TLSLoopbackListener {
    let descriptor: Int32
    let port: UInt16

    init() throws {
        let listening = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = TLSLoopbackSocket.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listening, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listening, $0, &length) }
        }
        guard bound == 0, named == 0, listen(listening, 1) == 0 else {
            close(listening)
            throw TLSError("cannot listen on loopback")
        }
        descriptor = listening
        port = UInt16(bigEndian: address.sin_port)
    }

    /// Waits up to ten seconds for one connection.
    func acceptConnection() throws -> TLSLoopbackSocket {
        var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&waiting, 1, 10_000) == 1 else { throw TLSError("nobody connected within ten seconds") }
        let connection = accept(descriptor, nil, nil)
        guard connection >= 0 else { throw TLSError("accept failed") }
        return TLSLoopbackSocket(descriptor: connection)
    }

    deinit {
        close(descriptor)
    }
}

/// A connected TCP socket with blocking I/O (reads time out after ten seconds), pumping one TLS session.
private final class TLSLoopbackSocket {
    private let descriptor: Int32
    private var isClosed = false

    init(descriptor: Int32) {
        self.descriptor = descriptor
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    static func open(port: UInt16) throws -> TLSLoopbackSocket {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw TLSError("cannot connect to 127.0.0.1:\(port)")
        }
        return TLSLoopbackSocket(descriptor: descriptor)
    }

    /// Sends whatever the session has queued.
    func flush(_ session: TLSSession) throws {
        var bytes: [UInt8] = []
        session.takeCiphertext(into: &bytes)
        var sent = 0
        while sent < bytes.count {
            let result = bytes.withUnsafeBytes {
                send(descriptor, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL))
            }
            guard result > 0 else { throw TLSError("send failed: \(String(cString: strerror(errno)))") }
            sent += result
        }
    }

    /// Runs the session over the socket until `isDone(plaintext received so far)`; the event loop of a test.
    /// Session errors are rethrown after their alert has been sent; EOF or a timeout ends it with an error.
    func drive(_ session: TLSSession, until isDone: ([UInt8]) -> Bool) throws -> [UInt8] {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            try flush(session)
            if isDone(received) { return received }
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else {
                throw TLSError(
                    count == 0 ? "the peer closed the connection" : "recv failed: \(String(cString: strerror(errno)))")
            }
            do {
                try chunk.withUnsafeBytes {
                    try session.receiveCiphertext(UnsafeRawBufferPointer(rebasing: $0[0..<count]))
                }
                _ = try session.readPlaintext(into: &received)
            } catch {
                try? flush(session)  // the alert tells the peer why
                throw error
            }
        }
    }

    func closeSocket() {
        guard !isClosed else { return }
        isClosed = true
        close(descriptor)
    }

    deinit {
        closeSocket()
    }
}
