/// A layer between the socket and nghttp2 that transforms bytes both ways, e.g. TLS. Without one, socket
/// bytes go to nghttp2 as they are. Used only on the connection's loop thread.
protocol BytePipe: AnyObject {
    /// Takes bytes read from the socket; appends the application bytes they carry to `plaintext`.
    func receive(_ wire: UnsafeRawBufferPointer, plaintext: inout [UInt8]) throws
    /// Takes application bytes to send; appends what must go on the socket to `wire`.
    func send(_ plaintext: UnsafeRawBufferPointer, wire: inout [UInt8]) throws
    /// Appends bytes the pipe itself must send (handshake records) to `wire`.
    func takePendingWireBytes(into wire: inout [UInt8])
    /// Whether the pipe carries application bytes yet (handshake done).
    var isEstablished: Bool { get }
    /// Starts an orderly close (e.g. TLS close_notify); its bytes come from `takePendingWireBytes`.
    func close()
    /// Who the peer proved to be with a certificate, if it did (TLS).
    var peerIdentity: TLSPeerIdentity? { get }
}

/// The HTTP/2 side of a connection: parses application bytes, produces bytes to send.
protocol ConnectionEngine: AnyObject {
    /// Application bytes arrived; false means the connection must close now.
    func received(_ bytes: UnsafeRawBufferPointer) -> Bool
    /// Appends bytes to send, up to about `limit`; false means the connection must close now.
    func produce(into output: inout [UInt8], limit: Int) -> Bool
    /// Whether the engine has nothing more to do (both sides done, or it asked to close).
    var isFinished: Bool { get }
    /// The socket closed or failed; the engine fails whatever is still open.
    func connectionClosed(reason: String)
    /// The pipe finished its handshake; the engine may send its preface.
    func pipeEstablished()
}
