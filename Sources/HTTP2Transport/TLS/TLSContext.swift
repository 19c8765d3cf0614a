import COpenSSL

/// An OpenSSL SSL_CTX built from a configuration: TLS 1.2+ only, ECDHE + AEAD cipher suites, ALPN "h2".
///
/// `@unchecked Sendable`: every setting is applied in `init` and the SSL_CTX is never modified afterwards;
/// OpenSSL documents creating SSL objects from one SSL_CTX on many threads (SSL_new) as thread-safe, and the
/// stored Swift properties are immutable.
final class TLSContext: @unchecked Sendable {
    /// The configured SSL_CTX; owned, freed in deinit.
    let context: OpaquePointer
    /// True for a server context (sessions accept), false for a client one (sessions connect).
    let isServer: Bool
    /// Client only: the name to send as SNI and verify, replacing the one the connection was made to.
    let serverNameOverride: String?
    /// Client only: whether sessions check the server certificate's host name (and chain).
    let verifiesServer: Bool

    /// TLS 1.2 cipher suites: forward-secret key exchange and AEAD only (RFC 9113 section 9.2.2 forbids
    /// the rest for HTTP/2 anyway). TLS 1.3 suites are all ECDHE/DHE + AEAD by construction.
    static let tls12CipherList = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")
    static let tls13CipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

    /// A server context presenting the configured certificate chain and selecting "h2".
    init(server configuration: TLSConfiguration) throws(TLSError) {
        let context = try Self.makeContext(method: TLS_server_method(), maximumVersion: configuration.maximumVersion)
        do {
            try Self.configureServer(context, configuration)
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        self.context = context
        self.isServer = true
        self.serverNameOverride = nil
        self.verifiesServer = false
    }

    /// A client context offering "h2", verifying servers unless told not to, with an optional client certificate.
    init(client configuration: TLSClientConfiguration) throws(TLSError) {
        let context = try Self.makeContext(method: TLS_client_method(), maximumVersion: configuration.maximumVersion)
        do {
            try Self.configureClient(context, configuration)
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        self.context = context
        self.isServer = false
        self.serverNameOverride = configuration.serverNameOverride
        self.verifiesServer = configuration.verifyServer
    }

    deinit {
        SSL_CTX_free(context)
    }

    /// An SSL_CTX with the settings both sides share: versions, cipher suites, no compression or renegotiation.
    private static func makeContext(method: OpaquePointer?, maximumVersion: TLSVersion) throws(TLSError)
        -> OpaquePointer
    {
        OpenSSLErrorQueue.clear()
        guard let context = SSL_CTX_new(method) else { throw .openSSL("cannot create an SSL_CTX") }
        // Compression invites CRIME-style attacks; renegotiation is forbidden for HTTP/2 (RFC 9113 section 9.2.1).
        _ = SSL_CTX_set_options(context, SSLOption.noCompression | SSLOption.noRenegotiation)
        guard setMinimumProtocolVersion(context, .tls12), setMaximumProtocolVersion(context, maximumVersion),
            SSL_CTX_set_cipher_list(context, tls12CipherList) == 1,
            SSL_CTX_set_ciphersuites(context, tls13CipherSuites) == 1
        else {
            SSL_CTX_free(context)
            throw .openSSL("cannot restrict TLS versions and cipher suites")
        }
        return context
    }

    private static func configureServer(_ context: OpaquePointer, _ configuration: TLSConfiguration) throws(TLSError) {
        _ = SSL_CTX_set_options(context, SSLOption.cipherServerPreference | SSLOption.noTicket)
        // Every connection is a fresh full handshake: no session cache, no TLS 1.3 tickets to issue.
        disableSessionCache(context)
        _ = SSL_CTX_set_num_tickets(context, 0)
        let sessionContext = Array("healthledger".utf8)
        _ = SSL_CTX_set_session_id_context(context, sessionContext, UInt32(sessionContext.count))
        try loadIdentity(
            context, certificateChainPath: configuration.certificateChainPEMPath,
            privateKeyPath: configuration.privateKeyPEMPath)
        ApplicationProtocol.installServerSelection(on: context)

        switch configuration.clientCertificateVerification {
        case .none:
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        case .optional, .required:
            guard let roots = configuration.trustRootsPEMPath else {
                throw TLSError("TLS: verifying client certificates needs trustRootsPEMPath (the CAs clients chain to)")
            }
            try loadTrustRoots(context, path: roots)
            // Tells clients which CAs we accept, so one holding several certificates can pick the right one.
            OpenSSLErrorQueue.clear()
            guard let names = SSL_load_client_CA_file(roots) else {
                throw .openSSL("cannot read CA names from \(roots)")
            }
            SSL_CTX_set_client_CA_list(context, names)
            let required = configuration.clientCertificateVerification == .required
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER | (required ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), nil)
        }
    }

    private static func configureClient(_ context: OpaquePointer, _ configuration: TLSClientConfiguration)
        throws(TLSError)
    {
        let protocols = ApplicationProtocol.wireFormat(configuration.offeredApplicationProtocols)
        // SSL_CTX_set_alpn_protos returns 0 on success, unlike the rest of the API.
        guard SSL_CTX_set_alpn_protos(context, protocols, UInt32(protocols.count)) == 0 else {
            throw .openSSL("cannot set the ALPN protocol list")
        }
        switch (configuration.certificateChainPEMPath, configuration.privateKeyPEMPath) {
        case (nil, nil):
            break
        case let (certificate?, key?):
            try loadIdentity(context, certificateChainPath: certificate, privateKeyPath: key)
        default:
            throw TLSError("TLS: a client certificate needs both certificateChainPEMPath and privateKeyPEMPath")
        }
        if configuration.verifyServer {
            if let roots = configuration.trustRootsPEMPath {
                try loadTrustRoots(context, path: roots)
            } else {
                OpenSSLErrorQueue.clear()
                guard SSL_CTX_set_default_verify_paths(context) == 1 else {
                    throw .openSSL("cannot load the system's default trust roots")
                }
            }
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        } else {
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        }
    }

    /// Loads a certificate chain and its private key, checking that the key belongs to the first certificate.
    private static func loadIdentity(
        _ context: OpaquePointer, certificateChainPath: String, privateKeyPath: String
    ) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        guard SSL_CTX_use_certificate_chain_file(context, certificateChainPath) == 1,
            let leaf = SSL_CTX_get0_certificate(context)
        else {
            throw .openSSL("cannot load certificate chain from \(certificateChainPath)")
        }
        let key = try PEMFile.readPrivateKey(path: privateKeyPath)
        defer { EVP_PKEY_free(key) }
        // Checked here because SSL_CTX_use_PrivateKey quietly drops a mismatched certificate instead of failing.
        OpenSSLErrorQueue.clear()
        guard X509_check_private_key(leaf, key) == 1 else {
            throw .openSSL("private key \(privateKeyPath) does not match the certificate in \(certificateChainPath)")
        }
        guard SSL_CTX_use_PrivateKey(context, key) == 1, SSL_CTX_check_private_key(context) == 1 else {
            throw .openSSL("cannot use private key \(privateKeyPath) with \(certificateChainPath)")
        }
    }

    /// Loads the CA certificates a peer's chain must end in.
    private static func loadTrustRoots(_ context: OpaquePointer, path: String) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        guard SSL_CTX_load_verify_file(context, path) == 1 else {
            throw .openSSL("cannot load trust roots from \(path)")
        }
    }
}
