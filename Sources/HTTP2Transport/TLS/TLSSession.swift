import COpenSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One TLS connection as bytes in, bytes out over memory BIOs (no socket): the event loop feeds received
/// ciphertext and sends what the session produces. Used only on its connection's loop thread.
///
/// Every call may leave bytes to send (handshake messages, alerts, close_notify): call `takeCiphertext` after
/// each one, including after one that threw, so the peer learns why the connection ends.
final class TLSSession {
    private let ssl: OpaquePointer
    /// Ciphertext from the network, read by OpenSSL (owned by `ssl`).
    private let incoming: OpaquePointer
    /// Ciphertext OpenSSL produced, to be sent (owned by `ssl`).
    private let outgoing: OpaquePointer
    /// Kept so the SSL_CTX outlives the SSL made from it.
    private let context: TLSContext

    /// True once both sides finished the handshake and agreed on "h2".
    private(set) var isHandshakeComplete = false
    /// The ALPN protocol agreed on ("h2"), after the handshake.
    private(set) var negotiatedProtocol: String?
    /// The peer's certificate, when it presented one (servers always; clients with mTLS). Verified against the
    /// trust roots, except on a client with `verifyServer: false`.
    private(set) var peerIdentity: TLSPeerIdentity?
    /// TLS 1.2 or 1.3, after the handshake.
    private(set) var negotiatedVersion: TLSVersion?
    /// OpenSSL's name of the cipher suite in use ("TLS_AES_256_GCM_SHA384"), after the handshake.
    private(set) var cipherSuite: String?
    /// True once the peer's close_notify arrived: no more plaintext will come.
    private(set) var isClosedByPeer = false

    /// The first fatal error; after it every call throws it again (OpenSSL forbids further use).
    private var failure: TLSError?
    /// Plaintext written before the handshake finished; encrypted as soon as it does.
    private var pendingPlaintext: [UInt8] = []
    private var isShutDown = false
    /// Scratch space for SSL_read: one maximal TLS record's plaintext.
    private var readChunk = [UInt8](repeating: 0, count: 16 * 1024)

    /// A session on `context`. A client sends SNI for and verifies `serverName` (or the context's override); its
    /// ClientHello is ready in `takeCiphertext` as soon as this returns.
    init(context: TLSContext, serverName: String?) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        guard let ssl = SSL_new(context.context) else { throw .openSSL("cannot create an SSL session") }
        let incoming = BIO_new(BIO_s_mem())
        let outgoing = BIO_new(BIO_s_mem())
        guard let incoming, let outgoing else {
            BIO_free(incoming)
            BIO_free(outgoing)
            SSL_free(ssl)
            throw .openSSL("cannot create memory BIOs")
        }
        SSL_set_bio(ssl, incoming, outgoing)  // ssl now owns both BIOs
        self.ssl = ssl
        self.incoming = incoming
        self.outgoing = outgoing
        self.context = context

        if context.isServer {
            SSL_set_accept_state(ssl)
        } else {
            try configurePeerName(context.serverNameOverride ?? serverName)
            SSL_set_connect_state(ssl)
            try advanceHandshake()
        }
    }

    deinit {
        SSL_free(ssl)
    }

    /// Feeds ciphertext read from the socket; advances the handshake. Decrypted bytes wait for `readPlaintext`.
    func receiveCiphertext(_ bytes: UnsafeRawBufferPointer) throws(TLSError) {
        try checkUsable()
        var remaining = bytes
        while let base = remaining.baseAddress, !remaining.isEmpty {
            // Memory BIO writes only fail on allocation failure.
            let chunk = min(remaining.count, Int(Int32.max))
            guard BIO_write(incoming, base, Int32(chunk)) == Int32(chunk) else {
                throw fail(.openSSL("cannot buffer received ciphertext"))
            }
            remaining = UnsafeRawBufferPointer(rebasing: remaining[chunk...])
        }
        if !isHandshakeComplete {
            try advanceHandshake()
        }
    }

    /// Decrypts everything buffered so far, appending it to `buffer`; returns how many bytes were appended.
    /// Returns 0 when more ciphertext is needed or the peer closed (see `isClosedByPeer`).
    func readPlaintext(into buffer: inout [UInt8]) throws(TLSError) -> Int {
        try checkUsable()
        guard isHandshakeComplete else { return 0 }
        var total = 0
        while true {
            OpenSSLErrorQueue.clear()
            var count = 0
            let result = readChunk.withUnsafeMutableBytes { SSL_read_ex(ssl, $0.baseAddress, $0.count, &count) }
            if result == 1 {
                buffer.append(contentsOf: readChunk[0..<count])
                total += count
                continue
            }
            switch SSL_get_error(ssl, result) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                return total
            case SSL_ERROR_ZERO_RETURN:
                isClosedByPeer = true
                return total
            case let code:
                throw fail(describe(code, doing: "cannot decrypt received data"))
            }
        }
    }

    /// Encrypts plaintext for sending; before the handshake completes it is held and sent right after it.
    func writePlaintext(_ bytes: UnsafeRawBufferPointer) throws(TLSError) {
        try checkUsable()
        guard !isShutDown else { throw TLSError("TLS: cannot write after shutdown") }
        guard isHandshakeComplete else {
            pendingPlaintext.append(contentsOf: bytes)
            try advanceHandshake()
            return
        }
        try encrypt(bytes)
    }

    /// Appends the ciphertext waiting to be sent (handshake, records, alerts) to `buffer`, emptying the queue.
    func takeCiphertext(into buffer: inout [UInt8]) {
        let pending = Int(BIO_ctrl_pending(outgoing))
        guard pending > 0 else { return }
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: pending))
        let read = buffer.withUnsafeMutableBytes { all in
            BIO_read(outgoing, all.baseAddress! + start, Int32(clamping: pending))
        }
        buffer.removeLast(pending - max(0, Int(read)))
    }

    /// Queues close_notify (RFC 8446 section 6.1); the session can still read what the peer sends until its own.
    func shutdown() {
        guard failure == nil, isHandshakeComplete, !isShutDown else { return }
        isShutDown = true
        OpenSSLErrorQueue.clear()
        _ = SSL_shutdown(ssl)
        OpenSSLErrorQueue.clear()
    }

    // MARK: - Handshake

    private func advanceHandshake() throws(TLSError) {
        OpenSSLErrorQueue.clear()
        let result = SSL_do_handshake(ssl)
        guard result == 1 else {
            let code = SSL_get_error(ssl, result)
            if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE { return }
            throw fail(describe(code, doing: "handshake failed"))
        }
        negotiatedProtocol = selectedApplicationProtocol()
        negotiatedVersion = SSL_version(ssl) == TLS1_3_VERSION ? .tls13 : .tls12
        cipherSuite = SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) }
        if let certificate = SSL_get1_peer_certificate(ssl) {
            peerIdentity = TLSPeerIdentity(certificate: certificate)
            X509_free(certificate)
        }
        // The server refuses clients without "h2" in the handshake; a client must refuse a server that ignored ALPN.
        guard negotiatedProtocol == ApplicationProtocol.http2 else {
            throw fail(
                TLSError("TLS: the server did not select ALPN protocol h2 (selected: \(negotiatedProtocol ?? "none"))"))
        }
        isHandshakeComplete = true
        if !pendingPlaintext.isEmpty {
            let held = pendingPlaintext
            pendingPlaintext = []
            let outcome = held.withUnsafeBytes { bytes in Result { () throws(TLSError) in try encrypt(bytes) } }
            try outcome.get()
        }
    }

    private func selectedApplicationProtocol() -> String? {
        var data: UnsafePointer<UInt8>? = nil
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// Client side: SNI and host name (or IP address) verification for the name being connected to.
    private func configurePeerName(_ name: String?) throws(TLSError) {
        guard let name, !name.isEmpty else {
            if context.verifiesServer {
                throw TLSError("TLS: a server name is needed to verify the server certificate")
            }
            return
        }
        // "[::1]" as written in URLs; the certificate holds the bare address.
        let bare = name.hasPrefix("[") && name.hasSuffix("]") ? String(name.dropFirst().dropLast()) : name
        let isIPAddress = Self.isIPAddress(bare)
        OpenSSLErrorQueue.clear()
        // RFC 6066 section 3: SNI carries host names only, never IP literals.
        if !isIPAddress, !setServerNameIndication(ssl, bare) {
            throw .openSSL("cannot set server name \(bare)")
        }
        guard context.verifiesServer else { return }
        let parameters = SSL_get0_param(ssl)
        if isIPAddress {
            guard X509_VERIFY_PARAM_set1_ip_asc(parameters, bare) == 1 else {
                throw .openSSL("cannot verify against IP address \(bare)")
            }
        } else {
            SSL_set_hostflags(ssl, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
            guard SSL_set1_host(ssl, bare) == 1 else { throw .openSSL("cannot verify against host name \(bare)") }
        }
    }

    private static func isIPAddress(_ text: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET, text, &address) == 1 || inet_pton(AF_INET6, text, &address) == 1
    }

    // MARK: - Records and errors

    private func encrypt(_ bytes: UnsafeRawBufferPointer) throws(TLSError) {
        var remaining = bytes
        while let base = remaining.baseAddress, !remaining.isEmpty {
            OpenSSLErrorQueue.clear()
            var written = 0
            let result = SSL_write_ex(ssl, base, remaining.count, &written)
            guard result == 1 else {
                throw fail(describe(SSL_get_error(ssl, result), doing: "cannot encrypt data"))
            }
            remaining = UnsafeRawBufferPointer(rebasing: remaining[written...])
        }
    }

    private func checkUsable() throws(TLSError) {
        if let failure { throw failure }
    }

    /// Records the first fatal error so later calls report it instead of touching a broken SSL.
    private func fail(_ error: TLSError) -> TLSError {
        if failure == nil { failure = error }
        return error
    }

    /// A one-line error for an SSL_get_error code, with OpenSSL's reasons and, if it failed, certificate verification.
    private func describe(_ code: Int32, doing what: String) -> TLSError {
        var error = TLSError.openSSL(what)
        if code == SSL_ERROR_ZERO_RETURN {
            error.message += ": the peer closed the connection"
        } else if code == SSL_ERROR_SYSCALL, error.message == "TLS: \(what)" {
            error.message += ": unexpected end of input"
        }
        let verification = SSL_get_verify_result(ssl)
        if verification != Int(X509_V_OK) {
            error.message +=
                " (certificate verification: \(String(cString: X509_verify_cert_error_string(verification))))"
        }
        return error
    }
}
