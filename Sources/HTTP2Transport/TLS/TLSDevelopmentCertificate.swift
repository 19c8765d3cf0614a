import COpenSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A development certificate authority and the server certificate it issued, as PEM files in one directory, so a
/// node can serve TLS on first start without a real PKI. Clients trust `certificateAuthorityPath`.
/// ECDSA P-256 keys, SHA-256 signatures, one year of validity; key files are created with mode 0600.
public struct DevelopmentCertificate: Sendable, Hashable {
    /// The self-signed CA certificate: the trust root for clients (and for client certificates it issues).
    public var certificateAuthorityPath: String
    /// The CA's private key, kept to issue client certificates.
    public var certificateAuthorityKeyPath: String
    /// The server certificate (leaf), signed by the CA.
    public var certificatePath: String
    /// The server certificate's private key.
    public var privateKeyPath: String

    /// A certificate and key issued by a development CA, e.g. a client certificate for mutual TLS.
    public struct IssuedCertificate: Sendable, Hashable {
        /// The certificate, PEM.
        public var certificatePath: String
        /// Its private key, PEM (PKCS#8), mode 0600.
        public var privateKeyPath: String
    }

    /// The files a development certificate lives in under `directory`, whether or not they exist yet.
    public init(directory: String) {
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        certificateAuthorityPath = base + "/ca.pem"
        certificateAuthorityKeyPath = base + "/ca-key.pem"
        certificatePath = base + "/server.pem"
        privateKeyPath = base + "/server-key.pem"
    }

    /// The development certificate already in `directory`, or nil when any of its files is missing.
    public static func existing(in directory: String) -> DevelopmentCertificate? {
        let files = DevelopmentCertificate(directory: directory)
        let paths = [
            files.certificateAuthorityPath, files.certificateAuthorityKeyPath, files.certificatePath,
            files.privateKeyPath,
        ]
        return paths.allSatisfy { access($0, R_OK) == 0 } ? files : nil
    }

    /// Creates (or replaces) a CA and a server certificate for `commonName` in `directory` (created, mode 0700, if
    /// missing). Alternative names use the form TLSPeerIdentity reports: "DNS:name", "IP:address", "URI:uri".
    public static func generate(
        commonName: String = "localhost", subjectAltNames: [String] = ["DNS:localhost", "IP:127.0.0.1"],
        directory: String
    ) throws(TLSError) -> DevelopmentCertificate {
        let files = DevelopmentCertificate(directory: directory)
        try CertificateFiles.makeDirectory(directory)
        let authorityKey = try CertificateBuilder.makeKey()
        defer { EVP_PKEY_free(authorityKey) }
        let authority = try CertificateBuilder.makeCertificate(
            commonName: "HealthLedger development CA", publicKey: authorityKey, issuer: nil, issuerKey: authorityKey,
            extensions: CertificateBuilder.authorityExtensions)
        defer { X509_free(authority) }
        let serverKey = try CertificateBuilder.makeKey()
        defer { EVP_PKEY_free(serverKey) }
        let server = try CertificateBuilder.makeCertificate(
            commonName: commonName, publicKey: serverKey, issuer: authority, issuerKey: authorityKey,
            extensions: try CertificateBuilder.leafExtensions(usage: "serverAuth", subjectAltNames: subjectAltNames))
        defer { X509_free(server) }

        // The server certificate is written last: `existing(in:)` only trusts a directory where it is present.
        try CertificateFiles.store(
            try CertificateBuilder.pem(privateKey: authorityKey), to: files.certificateAuthorityKeyPath, mode: 0o600)
        try CertificateFiles.store(
            try CertificateBuilder.pem(certificate: authority), to: files.certificateAuthorityPath, mode: 0o644)
        try CertificateFiles.store(
            try CertificateBuilder.pem(privateKey: serverKey), to: files.privateKeyPath, mode: 0o600)
        try CertificateFiles.store(
            try CertificateBuilder.pem(certificate: server), to: files.certificatePath, mode: 0o644)
        return files
    }

    /// Issues a client certificate (extended key usage clientAuth) signed by this CA, written as `<name>.pem` and
    /// `<name>-key.pem` next to the CA.
    public func issueClientCertificate(
        commonName: String, subjectAltNames: [String] = [], name: String = "client"
    ) throws(TLSError) -> IssuedCertificate {
        guard !name.isEmpty, !name.contains("/") else {
            throw TLSError("TLS: certificate file name '\(name)' must be a plain name")
        }
        // The CA's directory, keeping its trailing "/" (empty for a bare relative file name).
        let directory =
            certificateAuthorityPath.lastIndex(of: "/").map { String(certificateAuthorityPath[...$0]) } ?? ""
        let issued = IssuedCertificate(
            certificatePath: directory + name + ".pem", privateKeyPath: directory + name + "-key.pem")
        let authority = try PEMFile.readCertificate(path: certificateAuthorityPath)
        defer { X509_free(authority) }
        let authorityKey = try PEMFile.readPrivateKey(path: certificateAuthorityKeyPath)
        defer { EVP_PKEY_free(authorityKey) }
        let key = try CertificateBuilder.makeKey()
        defer { EVP_PKEY_free(key) }
        let certificate = try CertificateBuilder.makeCertificate(
            commonName: commonName, publicKey: key, issuer: authority, issuerKey: authorityKey,
            extensions: try CertificateBuilder.leafExtensions(usage: "clientAuth", subjectAltNames: subjectAltNames))
        defer { X509_free(certificate) }
        try CertificateFiles.store(try CertificateBuilder.pem(privateKey: key), to: issued.privateKeyPath, mode: 0o600)
        try CertificateFiles.store(
            try CertificateBuilder.pem(certificate: certificate), to: issued.certificatePath, mode: 0o644)
        return issued
    }

    /// A server configuration presenting this certificate, optionally verifying clients against this CA.
    public func serverConfiguration(clientCertificateVerification: ClientCertificateVerification = .none)
        -> TLSConfiguration
    {
        TLSConfiguration(
            certificateChainPEMPath: certificatePath, privateKeyPEMPath: privateKeyPath,
            clientCertificateVerification: clientCertificateVerification,
            trustRootsPEMPath: clientCertificateVerification == .none ? nil : certificateAuthorityPath)
    }
}

/// Builds keys and X.509 v3 certificates (RFC 5280) with OpenSSL.
enum CertificateBuilder {
    static let validity: Int = 365 * 24 * 60 * 60
    /// Certificates start five minutes in the past so a peer whose clock lags a little still accepts them.
    static let backdating: Int = -5 * 60

    static let authorityExtensions: [(Int32, String)] = [
        (NID_basic_constraints, "critical,CA:TRUE,pathlen:0"),
        (NID_key_usage, "critical,keyCertSign,cRLSign"),
        (NID_subject_key_identifier, "hash"),
    ]

    /// Extensions of an end-entity certificate for `usage` ("serverAuth" or "clientAuth").
    static func leafExtensions(usage: String, subjectAltNames: [String]) throws(TLSError) -> [(Int32, String)] {
        var extensions: [(Int32, String)] = [
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, "critical,digitalSignature"),
            (NID_ext_key_usage, usage),
            (NID_subject_key_identifier, "hash"),
            (NID_authority_key_identifier, "keyid:always"),
        ]
        for name in subjectAltNames {
            let kinds = ["DNS:", "IP:", "URI:", "email:"]
            // Commas would let one entry smuggle more into OpenSSL's config syntax.
            guard kinds.contains(where: { name.hasPrefix($0) && name.count > $0.count }), !name.contains(",") else {
                throw TLSError(
                    "TLS: subject alternative name '\(name)' must be DNS:, IP:, URI: or email: followed by a value")
            }
        }
        if !subjectAltNames.isEmpty {
            extensions.append((NID_subject_alt_name, subjectAltNames.joined(separator: ",")))
        }
        return extensions
    }

    /// A new ECDSA P-256 key pair.
    static func makeKey() throws(TLSError) -> OpaquePointer {
        OpenSSLErrorQueue.clear()
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { throw .openSSL("cannot generate a key") }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer? = nil
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_CTX_set_group_name(context, "P-256") == 1,
            EVP_PKEY_generate(context, &key) == 1, let key
        else { throw .openSSL("cannot generate an ECDSA P-256 key") }
        return key
    }

    /// A certificate for `commonName` holding `publicKey`, signed by `issuerKey` (self-signed when `issuer` is nil).
    static func makeCertificate(
        commonName: String, publicKey: OpaquePointer, issuer: OpaquePointer?, issuerKey: OpaquePointer,
        extensions: [(Int32, String)]
    ) throws(TLSError) -> OpaquePointer {
        OpenSSLErrorQueue.clear()
        guard let certificate = X509_new() else { throw .openSSL("cannot create a certificate") }
        do throws(TLSError) {
            try fill(certificate, commonName: commonName, publicKey: publicKey, issuer: issuer, extensions: extensions)
            guard X509_sign(certificate, issuerKey, EVP_sha256()) > 0 else {
                throw .openSSL("cannot sign the certificate for \(commonName)")
            }
            return certificate
        } catch {
            X509_free(certificate)
            throw error
        }
    }

    private static func fill(
        _ certificate: OpaquePointer, commonName: String, publicKey: OpaquePointer, issuer: OpaquePointer?,
        extensions: [(Int32, String)]
    ) throws(TLSError) {
        guard X509_set_version(certificate, 2) == 1,  // 2 means v3
            setRandomSerialNumber(certificate),
            X509_gmtime_adj(X509_getm_notBefore(certificate), backdating) != nil,
            X509_gmtime_adj(X509_getm_notAfter(certificate), validity) != nil,
            X509_set_pubkey(certificate, publicKey) == 1
        else { throw .openSSL("cannot fill in the certificate for \(commonName)") }

        guard let subject = X509_NAME_new() else { throw .openSSL("cannot create a name") }
        defer { X509_NAME_free(subject) }
        guard X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8, "HealthLedger development", -1, -1, 0) == 1,
            X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, commonName, -1, -1, 0) == 1,
            X509_set_subject_name(certificate, subject) == 1,
            X509_set_issuer_name(certificate, issuer.map { X509_get_subject_name($0) } ?? subject) == 1
        else { throw .openSSL("cannot set the subject name \(commonName)") }

        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer ?? certificate, certificate, nil, nil, 0)
        for (nid, value) in extensions {
            guard let ext = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw .openSSL("cannot make extension \(String(cString: OBJ_nid2sn(nid))) = \(value)")
            }
            defer { X509_EXTENSION_free(ext) }
            guard X509_add_ext(certificate, ext, -1) == 1 else { throw .openSSL("cannot add extension \(value)") }
        }
    }

    /// A random positive 127-bit serial number (RFC 5280 section 4.1.2.2: unique, at most 20 octets).
    private static func setRandomSerialNumber(_ certificate: OpaquePointer) -> Bool {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[0] = (bytes[0] & 0x7F) | 0x01
        guard let number = BN_bin2bn(bytes, Int32(bytes.count), nil) else { return false }
        defer { BN_free(number) }
        return BN_to_ASN1_INTEGER(number, X509_get_serialNumber(certificate)) != nil
    }

    static func pem(privateKey: OpaquePointer) throws(TLSError) -> [UInt8] {
        try pem { PEM_write_bio_PrivateKey($0, privateKey, nil, nil, 0, nil, nil) }
    }

    static func pem(certificate: OpaquePointer) throws(TLSError) -> [UInt8] {
        try pem { PEM_write_bio_X509($0, certificate) }
    }

    private static func pem(_ write: (OpaquePointer) -> Int32) throws(TLSError) -> [UInt8] {
        OpenSSLErrorQueue.clear()
        guard let memory = BIO_new(BIO_s_mem()) else { throw .openSSL("cannot create a memory BIO") }
        defer { BIO_free(memory) }
        guard write(memory) == 1 else { throw .openSSL("cannot encode PEM") }
        var bytes = [UInt8](repeating: 0, count: Int(BIO_ctrl_pending(memory)))
        let read = bytes.withUnsafeMutableBytes { BIO_read(memory, $0.baseAddress, Int32($0.count)) }
        return Array(bytes.prefix(max(0, Int(read))))
    }
}

/// Writing certificate and key files safely: created with their final mode, written whole, then renamed into place.
enum CertificateFiles {
    /// Creates `path` and any missing parents with mode 0700; existing directories are left as they are.
    static func makeDirectory(_ path: String) throws(TLSError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o700) != 0, errno != EEXIST {
                throw TLSError("TLS: cannot create directory \(prefix): \(String(cString: strerror(errno)))")
            }
            prefix += "/"
        }
    }

    /// Writes `bytes` to `path` with `mode`, via a temporary file so a crash never leaves half a key behind.
    static func store(_ bytes: [UInt8], to path: String, mode: mode_t) throws(TLSError) {
        let temporary = path + ".tmp"
        _ = unlink(temporary)
        // O_EXCL: never write a key through a file (or symlink) someone else placed there.
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw systemError("cannot create", temporary) }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if result < 0, errno == EINTR { continue }
            guard result > 0 else {
                let error = systemError("cannot write", temporary)
                close(descriptor)
                unlink(temporary)
                throw error
            }
            written += result
        }
        // The umask may have narrowed the mode on creation; the key must be exactly 0600 either way.
        guard fchmod(descriptor, mode) == 0, fsync(descriptor) == 0 else {
            let error = systemError("cannot finish", temporary)
            close(descriptor)
            unlink(temporary)
            throw error
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let error = systemError("cannot rename into", path)
            unlink(temporary)
            throw error
        }
    }

    private static func systemError(_ what: String, _ path: String) -> TLSError {
        TLSError("TLS: \(what) \(path): \(String(cString: strerror(errno)))")
    }
}
