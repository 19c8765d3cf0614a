import COpenSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Who the peer proved to be in the handshake: its certificate's subject, alternative names and key.
public struct TLSPeerIdentity: Sendable, Hashable {
    /// The subject as a one-line RFC 4514 (RFC 2253) distinguished name, most specific first: "CN=node-1,O=Clinic".
    public var subject: String
    /// DNS names, URIs, IP and email addresses: "DNS:host", "URI:spiffe://...", "IP:10.0.0.1", "email:a@b".
    public var subjectAlternativeNames: [String]
    /// SHA-256 of the certificate's DER SubjectPublicKeyInfo: the key pin (RFC 7469 style), stable across renewals.
    public var publicKeySHA256: [UInt8]
    /// The whole certificate, DER.
    public var certificateDER: [UInt8]

    /// Describes the first certificate in a PEM file, e.g. to log or pin a node's own key.
    public init(certificatePEMPath: String) throws(TLSError) {
        let certificate = try PEMFile.readCertificate(path: certificatePEMPath)
        defer { X509_free(certificate) }
        self.init(certificate: certificate)
    }

    /// Describes an X509 certificate (borrowed, not freed).
    init(certificate: OpaquePointer) {
        subject = Self.distinguishedName(X509_get_subject_name(certificate))
        subjectAlternativeNames = Self.alternativeNames(certificate)
        publicKeySHA256 = Self.sha256(Self.der { i2d_PUBKEY(X509_get0_pubkey(certificate), $0) })
        certificateDER = Self.der { i2d_X509(certificate, $0) }
    }

    private static func distinguishedName(_ name: OpaquePointer?) -> String {
        guard let name, let memory = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(memory) }
        guard X509_NAME_print_ex(memory, name, 0, rfc2253NameFlags) >= 0 else { return "" }
        var bytes = [UInt8](repeating: 0, count: Int(BIO_ctrl_pending(memory)))
        let count = bytes.withUnsafeMutableBytes { BIO_read(memory, $0.baseAddress, Int32($0.count)) }
        return String(decoding: bytes.prefix(max(0, Int(count))), as: UTF8.self)
    }

    private static func alternativeNames(_ certificate: OpaquePointer) -> [String] {
        guard let raw = X509_get_ext_d2i(certificate, NID_subject_alt_name, nil, nil) else { return [] }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        var result: [String] = []
        for index in 0..<OPENSSL_sk_num(names) {
            guard let entry = OPENSSL_sk_value(names, index)?.assumingMemoryBound(to: GENERAL_NAME.self) else {
                continue
            }
            let name = entry.pointee
            switch name.type {
            case GEN_DNS: result.append("DNS:" + text(name.d.dNSName))
            case GEN_URI: result.append("URI:" + text(name.d.uniformResourceIdentifier))
            case GEN_EMAIL: result.append("email:" + text(name.d.rfc822Name))
            case GEN_IPADD: result.append("IP:" + ipAddress(bytes(name.d.iPAddress)))
            default: continue  // otherName, directoryName, ...: not used for identity here
            }
        }
        return result
    }

    private static func bytes(_ string: UnsafeMutablePointer<ASN1_STRING>?) -> [UInt8] {
        guard let string, let data = ASN1_STRING_get0_data(string) else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(string))))
    }

    private static func text(_ string: UnsafeMutablePointer<ASN1_STRING>?) -> String {
        String(decoding: bytes(string), as: UTF8.self)
    }

    /// Dotted IPv4 or RFC 5952 IPv6 text (inet_ntop); other lengths as hex.
    private static func ipAddress(_ address: [UInt8]) -> String {
        let family: Int32
        switch address.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return address.map { String($0, radix: 16) }.joined(separator: ":")
        }
        var text = [CChar](repeating: 0, count: 64)
        guard inet_ntop(family, address, &text, socklen_t(text.count)) != nil else { return "" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Runs an OpenSSL i2d_* encoder in its two-call form: measure, then write.
    private static func der(_ encode: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32) -> [UInt8] {
        let length = encode(nil)
        guard length > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        bytes.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            _ = encode(&cursor)
        }
        return bytes
    }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_Digest(bytes, bytes.count, &digest, &length, EVP_sha256(), nil) == 1 else { return [] }
        return Array(digest.prefix(Int(length)))
    }
}
