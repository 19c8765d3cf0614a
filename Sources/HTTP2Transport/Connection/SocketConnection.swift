import CLinuxEvents
import CNGHTTP2
import Glibc

/// One TCP connection on one event loop: reads into the (optional) byte pipe and the HTTP/2 engine, and
/// writes what the engine produces, keeping at most `outboundLimit` bytes buffered so a peer that does not
/// read cannot grow memory (nghttp2 keeps the rest unserialized, and data providers are pulled lazily).
///
/// Reads and writes go through buffers borrowed from the loop for the duration of one call; a connection
/// keeps bytes of its own only for output the socket did not take, so an idle connection holds no buffer.
final class SocketConnection: FileDescriptorHandler {
    let fd: Int32
    let loop: EventLoop
    /// The TLS (or other) layer between the socket and nghttp2; nil for plaintext.
    let pipe: (any BytePipe)?
    private(set) var engine: (any ConnectionEngine)?
    private let outboundLimit: Int
    /// Bytes the socket has not taken yet (plaintext), or the TLS records to send.
    private var output: [UInt8] = []
    private var outputOffset = 0
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
        var readBuffer = loop.borrowReadBuffer()
        defer { loop.returnReadBuffer(readBuffer) }
        // Bounded rounds so one busy connection cannot starve the others on this loop.
        for _ in 0..<16 {
            let count = readBuffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                let delivered = readBuffer.withUnsafeBytes { deliver(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                guard delivered else { return }
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

    private func deliver(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let engine else { return false }
        if let pipe {
            var plaintextIn = loop.borrowWriteBuffer()
            defer { loop.returnWriteBuffer(plaintextIn) }
            do {
                try pipe.receive(bytes, plaintext: &plaintextIn)
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
            if !ok { flushAndClose(reason: "HTTP/2 protocol error") }
            return ok
        }
        let ok = engine.received(bytes)
        if !ok { flushAndClose(reason: "HTTP/2 protocol error") }
        return ok
    }

    /// Pulls whatever the engine has to send and writes it; closes when the engine is finished.
    func flush() {
        guard !isClosed, !isFlushing, let engine else { return }
        isFlushing = true
        defer { isFlushing = false }
        var ok = true
        // Each pass produces at most `outboundLimit` bytes. When the socket took all of it and the engine
        // filled that limit, more frames may be waiting and no EPOLLOUT will come to ask for them: go again.
        var mayHaveMore = true
        while ok && mayHaveMore && !isClosed {
            (ok, mayHaveMore) = flushOnce(engine)
            mayHaveMore = mayHaveMore && outputOffset == output.count
        }
        if isClosed { return }
        if !ok || (engine.isFinished && outputOffset == output.count) {
            close(reason: ok ? "finished" : "HTTP/2 protocol error")
        }
    }

    /// One produce-and-write pass; returns whether the engine is healthy and whether it filled its limit.
    private func flushOnce(_ engine: any ConnectionEngine) -> (ok: Bool, filledLimit: Bool) {
        var ok = true
        var filledLimit = false
        if let pipe {
            pipe.takePendingWireBytes(into: &output)
            if engineStarted {
                var plaintextOut = loop.borrowWriteBuffer()
                while output.count - outputOffset < outboundLimit {
                    plaintextOut.removeAll(keepingCapacity: true)
                    ok = engine.produce(into: &plaintextOut, limit: outboundLimit)
                    if plaintextOut.isEmpty { break }
                    filledLimit = output.count - outputOffset + plaintextOut.count >= outboundLimit
                    do {
                        try plaintextOut.withUnsafeBytes { try pipe.send($0, wire: &output) }
                    } catch {
                        ok = false
                        break
                    }
                    if !ok { break }
                }
                loop.returnWriteBuffer(plaintextOut)
            }
            writeOutput()
        } else if outputOffset == output.count {
            // Nothing is backed up: serialize into the loop's buffer and keep only what the socket refuses.
            var frames = loop.borrowWriteBuffer()
            ok = engine.produce(into: &frames, limit: outboundLimit)
            filledLimit = frames.count >= outboundLimit
            let written = frames.withUnsafeBytes { writeToSocket($0) }
            if written < frames.count {
                output = Array(frames[written...])
                outputOffset = 0
            }
            loop.returnWriteBuffer(frames)
            watchWritable(outputOffset < output.count)
        } else {
            ok = engine.produce(into: &output, limit: outputOffset + outboundLimit)
            filledLimit = output.count >= outputOffset + outboundLimit
            writeOutput()
        }
        return (ok, filledLimit)
    }

    private func flushAndClose(reason: String) {
        isFlushing = false
        // The engine's last frames (a GOAWAY) go out like any others: encrypted when TLS is in between.
        if let engine { _ = flushOnce(engine) }
        close(reason: reason)
    }

    /// Writes as much of `bytes` as the socket takes now; returns the count written.
    private func writeToSocket(_ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        while offset < bytes.count {
            // MSG_NOSIGNAL: a peer that reset the connection must give EPIPE here, not kill the process.
            let written = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        return offset
    }

    private func writeOutput() {
        if outputOffset < output.count {
            outputOffset += output.withUnsafeBytes { writeToSocket(UnsafeRawBufferPointer(rebasing: $0[outputOffset...])) }
        }
        if outputOffset == output.count {
            // A drained backlog is freed (plaintext) or kept while small (TLS records reuse it every flush).
            if pipe == nil || output.capacity > 64 * 1024 {
                output = []
            } else {
                output.removeAll(keepingCapacity: true)
            }
            outputOffset = 0
        }
        watchWritable(outputOffset < output.count)
    }

    /// Asks the loop for EPOLLOUT while output waits for the socket, and stops asking once it is gone.
    private func watchWritable(_ wantWritable: Bool) {
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
