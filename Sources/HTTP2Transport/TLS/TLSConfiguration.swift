/// Whether a TLS server asks connecting clients for a certificate, and what it does without one.
public enum ClientCertificateVerification: Sendable, Hashable {
    /// Clients are not asked for a certificate.
    case none
    /// A client may present a certificate; if it does, it must verify against the trust roots.
    case optional
    /// A client must present a certificate that verifies against the trust roots (mutual TLS).
    case required
}

/// A TLS protocol version this transport speaks; nothing older than TLS 1.2 (RFC 9113 section 9.2).
public enum TLSVersion: Sendable, Hashable, Comparable {
    /// TLS 1.2, RFC 5246.
    case tls12
    /// TLS 1.3, RFC 8446.
    case tls13
}

/// How a gRPC server terminates TLS: its certificate and key, and how it treats client certificates.
public struct TLSConfiguration: Sendable {
    /// PEM file with the server certificate first, then any intermediates.
    public var certificateChainPEMPath: String
    /// PEM file with the private key matching the first certificate in the chain.
    public var privateKeyPEMPath: String
    /// Whether clients are asked for, or must present, a certificate.
    public var clientCertificateVerification: ClientCertificateVerification
    /// PEM bundle of the CAs that client certificates must chain to; needed unless verification is `.none`.
    public var trustRootsPEMPath: String?
    /// The newest TLS version offered; TLS 1.3 unless a deployment (or a test) needs to pin TLS 1.2.
    public var maximumVersion: TLSVersion

    /// A server configuration from a certificate chain and key, optionally verifying client certificates.
    public init(
        certificateChainPEMPath: String, privateKeyPEMPath: String,
        clientCertificateVerification: ClientCertificateVerification = .none, trustRootsPEMPath: String? = nil,
        maximumVersion: TLSVersion = .tls13
    ) {
        self.certificateChainPEMPath = certificateChainPEMPath
        self.privateKeyPEMPath = privateKeyPEMPath
        self.clientCertificateVerification = clientCertificateVerification
        self.trustRootsPEMPath = trustRootsPEMPath
        self.maximumVersion = maximumVersion
    }
}

/// How a gRPC client connects over TLS: whom it trusts, which name it checks, and its own certificate for mTLS.
public struct TLSClientConfiguration: Sendable {
    /// PEM bundle of the CAs the server certificate must chain to; nil uses the system's default trust store.
    public var trustRootsPEMPath: String?
    /// The name sent as SNI and checked against the server certificate, instead of the host connected to.
    public var serverNameOverride: String?
    /// PEM file with the client certificate chain, for servers that ask for one (mutual TLS).
    public var certificateChainPEMPath: String?
    /// PEM file with the client certificate's private key.
    public var privateKeyPEMPath: String?
    /// Whether the server certificate is verified (chain and host name); false is for development only.
    public var verifyServer: Bool
    /// The newest TLS version offered; TLS 1.3 unless a deployment (or a test) needs to pin TLS 1.2.
    public var maximumVersion: TLSVersion
    /// Protocols offered in ALPN; always ["h2"] in production. Tests change it to see a server refuse.
    var offeredApplicationProtocols: [String] = ["h2"]

    /// A client configuration; by default it verifies the server against the system trust store.
    public init(
        trustRootsPEMPath: String? = nil, serverNameOverride: String? = nil, certificateChainPEMPath: String? = nil,
        privateKeyPEMPath: String? = nil, verifyServer: Bool = true, maximumVersion: TLSVersion = .tls13
    ) {
        self.trustRootsPEMPath = trustRootsPEMPath
        self.serverNameOverride = serverNameOverride
        self.certificateChainPEMPath = certificateChainPEMPath
        self.privateKeyPEMPath = privateKeyPEMPath
        self.verifyServer = verifyServer
        self.maximumVersion = maximumVersion
    }
}
