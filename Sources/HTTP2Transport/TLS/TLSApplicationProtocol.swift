import COpenSSL

/// ALPN (RFC 7301) as gRPC uses it: HTTP/2 over TLS is identified by "h2" (RFC 9113 section 3.2), and nothing
/// else is spoken, so a peer that does not agree on "h2" is refused during the handshake.
enum ApplicationProtocol {
    /// The ALPN identifier of HTTP/2 over TLS.
    static let http2 = "h2"

    /// Encodes names as a ProtocolNameList: each name preceded by its one-byte length.
    static func wireFormat(_ names: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        for name in names {
            let utf8 = Array(name.utf8)
            precondition(!utf8.isEmpty && utf8.count <= 255, "an ALPN protocol name is 1 to 255 bytes")
            bytes.append(UInt8(utf8.count))
            bytes.append(contentsOf: utf8)
        }
        return bytes
    }

    /// Where "h2" starts inside a client's ProtocolNameList; nil when it is absent or the list is malformed.
    static func offsetOfHTTP2(in list: UnsafeBufferPointer<UInt8>) -> Int? {
        var index = 0
        while index < list.count {
            let length = Int(list[index])
            let start = index + 1
            guard length > 0, start + length <= list.count else { return nil }
            if length == 2, list[start] == UInt8(ascii: "h"), list[start + 1] == UInt8(ascii: "2") {
                return start
            }
            index = start + length
        }
        return nil
    }

    /// Makes a server context pick "h2" and fail the handshake with no_application_protocol otherwise.
    static func installServerSelection(on context: OpaquePointer) {
        // A client that sends no ALPN extension at all never reaches the select callback, so the ClientHello is
        // checked first; the alert is the one RFC 7301 section 3.2 names for "no protocol in common".
        SSL_CTX_set_client_hello_cb(
            context,
            { ssl, alert, _ in
                var extensionData: UnsafePointer<UInt8>? = nil
                var extensionLength = 0
                let alpn = UInt32(TLSEXT_TYPE_application_layer_protocol_negotiation)
                if SSL_client_hello_get0_ext(ssl, alpn, &extensionData, &extensionLength) == 1 {
                    return SSL_CLIENT_HELLO_SUCCESS
                }
                alert?.pointee = SSL_AD_NO_APPLICATION_PROTOCOL
                return SSL_CLIENT_HELLO_ERROR
            }, nil)
        SSL_CTX_set_alpn_select_cb(
            context,
            { _, selected, selectedLength, offered, offeredLength, _ in
                guard let selected, let selectedLength, let offered,
                    let offset = ApplicationProtocol.offsetOfHTTP2(
                        in: UnsafeBufferPointer(start: offered, count: Int(offeredLength)))
                else { return SSL_TLSEXT_ERR_ALERT_FATAL }
                // OpenSSL requires the answer to point into the client's list (or static memory).
                selected.pointee = offered + offset
                selectedLength.pointee = 2
                return SSL_TLSEXT_ERR_OK
            }, nil)
    }
}
