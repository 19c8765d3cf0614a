import CLinuxEvents
import CNGHTTP2
import Glibc

/// One TCP connection on one event loop: reads into the (optional) byte pipe and the HTTP/2 engine, and
/// writes what the engine produces, keeping at most `outboundLimit` bytes buffered so a peer that does not
/// read cannot grow memory (nghttp2 keeps the rest unserialized, and data providers are pulled lazily).
final class SocketConnection: FileDescriptorHandler {
    let fd: Int32
    let loop: EventLoop
    /// The TLS (or other) layer between the socket and nghttp2; nil for plaintext.
    let pipe: (any BytePipe)?
    private(set) var engine: (any ConnectionEngine)?
    private let outboundLimit: Int
    private var output: [UInt8] = []
    private var outputOffset = 0
    private var plaintextOut: [UInt8] = []
    private var plaintextIn: [UInt8] = []
    private var readBuffer: [UInt8]
    private var watchingWritable = false
    private var isClosed = false
    private var isFlushing = false
    private var engineStarted = false
    /// Runs once when the socket closes (registries drop the connection).
    var onClose: (() -> Void)?

    /// Wraps a connected non-blocking socket; call `start` on the loop to begin.
    init(fd: Int32, loop: EventLoop, pipe: (any BytePipe)?, outboundLimit: Int) {
        self.fd = fd
        self.loop = loop
        self.pipe = pipe
        self.outboundLimit = outboundLimit
        self.readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    }

    /// Registers the socket with the loop and lets `engine` send its preface.
    func start(engine: any ConnectionEngine) {
        loop.assertInLoop()
        self.engine = engine
        loop.register(fd, events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue, handler: self)
        if pipe == nil || pipe!.isEstablished {
            engineStarted = true
            engine.pipeEstablished()
        }
        flush()
    }

    func handleEvents(_ events: UInt32) {
        if events & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue | EPOLLRDHUP.rawValue) != 0 {
            readAvailable()
        }
        if !isClosed && events & EPOLLOUT.rawValue != 0 {
            flush()
        }
    }

    private func readAvailable() {
        // Bounded rounds so one busy connection cannot starve the others on this loop.
        for _ in 0..<16 {
            let count = readBuffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                guard deliver(count: count) else { return }
                if count < readBuffer.count { break }
            } else if count == 0 {
                close(reason: "the peer closed the connection")
                return
            } else {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { break }
                close(reason: SocketError(operation: "read").description)
                return
            }
        }
        flush()
    }

    private func deliver(count: Int) -> Bool {
        guard let engine else { return false }
        if let pipe {
            do {
                try readBuffer.withUnsafeBytes { try pipe.receive(UnsafeRawBufferPointer(rebasing: $0[0..<count]), plaintext: &plaintextIn) }
            } catch {
                pipe.takePendingWireBytes(into: &output)
                writeOutput()
                close(reason: "\(error)")
                return false
            }
            if !engineStarted && pipe.isEstablished {
                engineStarted = true
                engine.pipeEstablished()
            }
            guard !plaintextIn.isEmpty else { return true }
            let ok = plaintextIn.withUnsafeBytes { engine.received($0) }
            plaintextIn.removeAll(keepingCapacity: true)
            if !ok { flushAndClose(reason: "HTTP/2 protocol error") }
            return ok
        }
        let ok = readBuffer.withUnsafeBytes { engine.received(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        if !ok { flushAndClose(reason: "HTTP/2 protocol error") }
        return ok
    }

    /// Pulls whatever the engine has to send and writes it; closes when the engine is finished.
    func flush() {
        guard !isClosed, !isFlushing, let engine else { return }
        isFlushing = true
        defer { isFlushing = false }
        var ok = true
        if let pipe {
            pipe.takePendingWireBytes(into: &output)
            if engineStarted {
                while output.count - outputOffset < outboundLimit {
                    plaintextOut.removeAll(keepingCapacity: true)
                    ok = engine.produce(into: &plaintextOut, limit: outboundLimit)
                    if plaintextOut.isEmpty { break }
                    do {
                        try plaintextOut.withUnsafeBytes { try pipe.send($0, wire: &output) }
                    } catch {
                        ok = false
                        break
                    }
                    if !ok { break }
                }
            }
        } else {
            if outputOffset == output.count {
                output.removeAll(keepingCapacity: true)
                outputOffset = 0
            }
            ok = engine.produce(into: &output, limit: outputOffset + outboundLimit)
        }
        writeOutput()
        if isClosed { return }
        if !ok || (engine.isFinished && outputOffset == output.count) {
            close(reason: ok ? "finished" : "HTTP/2 protocol error")
        }
    }

    private func flushAndClose(reason: String) {
        isFlushing = false
        if let engine { _ = engine.produce(into: &output, limit: outboundLimit) }
        writeOutput()
        close(reason: reason)
    }

    private func writeOutput() {
        while outputOffset < output.count {
            let written = output.withUnsafeBytes { bytes in
                Glibc.write(fd, bytes.baseAddress! + outputOffset, bytes.count - outputOffset)
            }
            if written > 0 {
                outputOffset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        if outputOffset == output.count {
            output.removeAll(keepingCapacity: output.capacity <= 4 * outboundLimit)
            outputOffset = 0
        }
        let wantWritable = outputOffset < output.count
        if wantWritable != watchingWritable && !isClosed {
            watchingWritable = wantWritable
            let events = EPOLLIN.rawValue | EPOLLRDHUP.rawValue | (wantWritable ? EPOLLOUT.rawValue : 0)
            loop.modify(fd, events: events)
        }
    }

    /// Closes the socket now and tells the engine.
    func close(reason: String) {
        guard !isClosed else { return }
        isClosed = true
        if let pipe, pipe.isEstablished {
            // Best effort: tell a TLS peer the close is deliberate (close_notify), without waiting.
            pipe.close()
            pipe.takePendingWireBytes(into: &output)
            writeOutput()
        }
        loop.unregister(fd)
        Glibc.close(fd)
        let engine = self.engine
        self.engine = nil
        engine?.connectionClosed(reason: reason)
        onClose?()
        onClose = nil
    }
}
