import COpenSSL

// OpenSSL spells these as function-like or computed macros, which Swift does not import. The values are
// OpenSSL 3.0's public ABI (openssl/ssl.h, openssl/x509.h, openssl/asn1.h) and never change within 3.x.

/// SSL_OP_* option bits (ssl.h: `SSL_OP_BIT(n)`).
enum SSLOption {
    static let noTicket: UInt64 = 1 << 14
    static let noCompression: UInt64 = 1 << 17
    static let cipherServerPreference: UInt64 = 1 << 22
    static let noRenegotiation: UInt64 = 1 << 30
}

/// X509_NAME_print_ex flags: XN_FLAG_RFC2253 without ASN1_STRFLGS_ESC_MSB, so non-ASCII names stay
/// readable UTF-8 instead of "\C3\A9" escapes (RFC 4514 allows either).
let rfc2253NameFlags: UInt =
    UInt(
        ASN1_STRFLGS_ESC_2253 | ASN1_STRFLGS_ESC_CTRL | ASN1_STRFLGS_UTF8_CONVERT | ASN1_STRFLGS_DUMP_UNKNOWN
            | ASN1_STRFLGS_DUMP_DER) | (1 << 16) /* XN_FLAG_SEP_COMMA_PLUS */ | (1 << 20) /* XN_FLAG_DN_REV */
    | (1 << 24) /* XN_FLAG_DUMP_UNKNOWN_FIELDS */

extension TLSVersion {
    /// The protocol version number OpenSSL uses (TLS1_2_VERSION, TLS1_3_VERSION).
    var openSSLVersion: Int {
        switch self {
        case .tls12: Int(TLS1_2_VERSION)
        case .tls13: Int(TLS1_3_VERSION)
        }
    }
}

/// SSL_CTX_set_min_proto_version: TLS versions older than `version` are refused.
func setMinimumProtocolVersion(_ context: OpaquePointer, _ version: TLSVersion) -> Bool {
    SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, version.openSSLVersion, nil) == 1
}

/// SSL_CTX_set_max_proto_version: TLS versions newer than `version` are not offered.
func setMaximumProtocolVersion(_ context: OpaquePointer, _ version: TLSVersion) -> Bool {
    SSL_CTX_ctrl(context, SSL_CTRL_SET_MAX_PROTO_VERSION, version.openSSLVersion, nil) == 1
}

/// SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF): connections are never resumed.
func disableSessionCache(_ context: OpaquePointer) {
    _ = SSL_CTX_ctrl(context, SSL_CTRL_SET_SESS_CACHE_MODE, Int(SSL_SESS_CACHE_OFF), nil)
}

/// SSL_set_tlsext_host_name: the server name sent in the ClientHello (SNI, RFC 6066 section 3).
func setServerNameIndication(_ ssl: OpaquePointer, _ name: String) -> Bool {
    name.withCString { pointer in
        SSL_ctrl(
            ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name),
            UnsafeMutableRawPointer(mutating: pointer))
            == 1
    }
}
