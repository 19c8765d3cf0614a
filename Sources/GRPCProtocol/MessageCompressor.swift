import CZlib
import RPCCore

/// Compresses/decompresses one message (zlib; gzip and deflate formats). Decompression is bounded:
/// output larger than `limit` -> RPCError(.resourceExhausted, ...), corrupt input -> RPCError(.internalError, ...).
///
/// Every message gets a fresh zlib stream: "Compression contexts are NOT maintained over message boundaries"
/// (PROTOCOL-HTTP2.md, "Length-Prefixed-Message").
public enum MessageCompressor {
    /// How much inflate writes per call; decompression never holds more than `limit` + 1 bytes of output
    /// plus one chunk of this size.
    static let inflateChunkSize = 64 * 1024

    /// Compresses `bytes` as one complete gzip member or zlib stream; identity returns them unchanged.
    public static func compress(_ bytes: [UInt8], encoding: MessageEncoding) -> [UInt8] {
        guard encoding != .identity else { return bytes }
        precondition(bytes.count <= Int(UInt32.max), "a gRPC message is at most 4 GiB")
        let stream = ZlibStream()
        defer { stream.end(deflating: true) }
        // windowBits 15 is the zlib wrapper; 16 + 15 asks zlib for a gzip header and trailer (zlib.h, deflateInit2).
        let windowBits: Int32 = encoding == .gzip ? 16 + 15 : 15
        let status = deflateInit2_(
            stream.pointer, Z_DEFAULT_COMPRESSION, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
            Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "deflateInit2 failed (\(status)): out of memory")
        stream.initialized = true
        // deflateBound is the worst case for one deflate(Z_FINISH) call, so a single call always finishes.
        let bound = Int(deflateBound(stream.pointer, uLong(bytes.count)))
        return bytes.withUnsafeBufferPointer { input in
            [UInt8](unsafeUninitializedCapacity: bound) { output, initializedCount in
                stream.pointer.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.pointer.pointee.avail_in = uInt(input.count)
                stream.pointer.pointee.next_out = output.baseAddress
                stream.pointer.pointee.avail_out = uInt(bound)
                let result = deflate(stream.pointer, Z_FINISH)
                precondition(result == Z_STREAM_END, "deflate within deflateBound did not finish (\(result))")
                initializedCount = bound - Int(stream.pointer.pointee.avail_out)
            }
        }
    }

    /// Decompresses one message, failing as soon as the output grows past `limit` bytes.
    ///
    /// gzip input is inflated with windowBits 47 (32 + 15: zlib detects a gzip or zlib header), so a peer
    /// that labels zlib data "gzip" still works; concatenated gzip members are accepted as gzip(1) does.
    public static func decompress(_ bytes: [UInt8], encoding: MessageEncoding, limit: Int) throws(RPCError) -> [UInt8] {
        // Clamped so that limit + 1 (the byte that proves the limit exceeded) cannot overflow.
        let limit = min(max(0, limit), Int.max - 1)
        guard encoding != .identity else {
            guard bytes.count <= limit else { throw tooLarge(limit: limit) }
            return bytes
        }
        let stream = ZlibStream()
        defer { stream.end(deflating: false) }
        let windowBits: Int32 = encoding == .gzip ? 32 + 15 : 15
        let initStatus = inflateInit2_(
            stream.pointer, windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else {
            throw RPCError(
                .resourceExhausted, "could not start \(encoding.rawValue) decompression (zlib \(initStatus))")
        }
        stream.initialized = true

        let chunkSize = min(inflateChunkSize, limit + 1)
        let chunk = UnsafeMutablePointer<UInt8>.allocate(capacity: chunkSize)
        defer { chunk.deallocate() }
        var output: [UInt8] = []
        var failure: RPCError?
        bytes.withUnsafeBufferPointer { input in
            let z = stream.pointer
            z.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            z.pointee.avail_in = uInt(input.count)
            while true {
                // Never ask for more than one byte past the limit: that byte is enough to know it is exceeded.
                let room = min(chunkSize, limit + 1 - output.count)
                z.pointee.next_out = chunk
                z.pointee.avail_out = uInt(room)
                let status = inflate(z, Z_NO_FLUSH)
                let produced = room - Int(z.pointee.avail_out)
                if produced > 0 {
                    appendBounded(UnsafeBufferPointer(start: chunk, count: produced), to: &output, limit: limit)
                }
                if output.count > limit {
                    failure = tooLarge(limit: limit)
                    return
                }
                switch status {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    if z.pointee.avail_in == 0 { return }
                    // Another gzip member may follow (RFC 1952 §2.2); zlib-format data has exactly one stream.
                    if encoding == .gzip, inflateReset(z) == Z_OK { continue }
                    failure = RPCError(.internalError, "\(encoding.rawValue) message has trailing bytes after its end")
                    return
                case Z_BUF_ERROR where z.pointee.avail_in == 0:
                    failure = RPCError(.internalError, "\(encoding.rawValue) message is truncated")
                    return
                case Z_BUF_ERROR:
                    continue
                case Z_MEM_ERROR:
                    failure = RPCError(.resourceExhausted, "out of memory decompressing \(encoding.rawValue) message")
                    return
                default:
                    let reason = z.pointee.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                    failure = RPCError(.internalError, "corrupt \(encoding.rawValue) message: \(reason)")
                    return
                }
            }
        }
        if let failure { throw failure }
        return output
    }

    private static func tooLarge(limit: Int) -> RPCError {
        RPCError(.resourceExhausted, "decompressed message larger than max (\(limit))")
    }

    // Grows geometrically like Array does, but never past limit + 1 bytes, so a bomb cannot make us
    // reserve twice the limit.
    private static func appendBounded(_ bytes: UnsafeBufferPointer<UInt8>, to output: inout [UInt8], limit: Int) {
        let needed = output.count + bytes.count
        if needed > output.capacity {
            output.reserveCapacity(min(limit + 1, max(needed, output.capacity * 2, 256)))
        }
        output.append(contentsOf: bytes)
    }
}

/// A heap-allocated z_stream: zlib keeps a pointer back to the stream and rejects calls made through a
/// different address, so it must not move between calls, which Swift's `&local` does not promise.
private final class ZlibStream {
    let pointer: UnsafeMutablePointer<z_stream>
    var initialized = false

    init() {
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: z_stream())
    }

    func end(deflating: Bool) {
        if initialized {
            if deflating { deflateEnd(pointer) } else { inflateEnd(pointer) }
        }
        initialized = false
    }

    deinit {
        pointer.deinitialize(count: 1)
        pointer.deallocate()
    }
}
