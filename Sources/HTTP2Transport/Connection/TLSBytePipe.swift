/// The TLS layer between a socket and nghttp2: ciphertext in from the socket, plaintext to nghttp2, and back.
final class TLSBytePipe: BytePipe {
    private let session: TLSSession

    /// Wraps a fresh session (server: waits for the ClientHello; client: its ClientHello is ready to send).
    init(session: TLSSession) {
        self.session = session
    }

    func receive(_ wire: UnsafeRawBufferPointer, plaintext: inout [UInt8]) throws {
        try session.receiveCiphertext(wire)
        _ = try session.readPlaintext(into: &plaintext)
        if session.isClosedByPeer && plaintext.isEmpty { throw TLSError("TLS: the peer closed the connection") }
    }

    func send(_ plaintext: UnsafeRawBufferPointer, wire: inout [UInt8]) throws {
        try session.writePlaintext(plaintext)
        session.takeCiphertext(into: &wire)
    }

    func takePendingWireBytes(into wire: inout [UInt8]) {
        session.takeCiphertext(into: &wire)
    }

    var isEstablished: Bool { session.isHandshakeComplete }

    func close() { session.shutdown() }

    var peerIdentity: TLSPeerIdentity? { session.peerIdentity }
}
