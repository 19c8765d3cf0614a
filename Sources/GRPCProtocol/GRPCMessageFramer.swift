/// Writes Length-Prefixed-Message frames: 1 byte compressed flag, 4 bytes big-endian length, message
/// (PROTOCOL-HTTP2.md, "Length-Prefixed-Message").
public enum GRPCMessageFramer {
    /// The size of the prefix before each message.
    public static let prefixLength = 5

    /// Appends one frame holding `message` as it is; `compressed` sets the flag (the caller compressed it).
    public static func append(_ message: [UInt8], compressed: Bool, to buffer: inout [UInt8]) {
        precondition(message.count <= Int(UInt32.max), "a gRPC message is at most 4 GiB")
        let length = UInt32(message.count)
        // reserveCapacity allocates exactly what it is asked for, so growing by hand must stay geometric,
        // or framing many messages into one buffer turns quadratic.
        let needed = buffer.count + prefixLength + message.count
        if needed > buffer.capacity { buffer.reserveCapacity(max(needed, buffer.capacity * 2)) }
        buffer.append(compressed ? 1 : 0)
        buffer.append(UInt8(truncatingIfNeeded: length >> 24))
        buffer.append(UInt8(truncatingIfNeeded: length >> 16))
        buffer.append(UInt8(truncatingIfNeeded: length >> 8))
        buffer.append(UInt8(truncatingIfNeeded: length))
        buffer.append(contentsOf: message)
    }

    /// Appends one frame, compressing `message` with `encoding` and setting the flag unless it is identity.
    public static func append(_ message: [UInt8], encoding: MessageEncoding, to buffer: inout [UInt8]) {
        if encoding == .identity {
            append(message, compressed: false, to: &buffer)
        } else {
            append(MessageCompressor.compress(message, encoding: encoding), compressed: true, to: &buffer)
        }
    }

    /// One frame holding `message`, uncompressed.
    public static func frame(_ message: [UInt8]) -> [UInt8] {
        var buffer: [UInt8] = []
        append(message, compressed: false, to: &buffer)
        return buffer
    }
}
