/// The length-prefixed framing the interop tests speak with this tool: every record is
/// `u32 LE length, bytes` fields, so payloads may hold any bytes.
enum RecordFraming {
    /// The input ended in the middle of a record; the tests wrote a broken batch.
    struct TruncatedInput: Error, CustomStringConvertible {
        /// Where the broken record starts.
        let offset: Int
        /// Readable form for stderr.
        var description: String { "request batch truncated in the record starting at byte \(offset)" }
    }

    /// Splits a request batch into (type name, payload) pairs: each is `u32 LE name length, name UTF-8,
    /// u32 LE payload length, payload`.
    static func requests(in input: [UInt8]) throws(TruncatedInput) -> [(typeName: String, payload: [UInt8])] {
        var requests: [(typeName: String, payload: [UInt8])] = []
        var position = 0
        while position < input.count {
            let recordStart = position
            guard let name = field(in: input, at: &position),
                let payload = field(in: input, at: &position)
            else { throw TruncatedInput(offset: recordStart) }
            requests.append((String(decoding: name, as: UTF8.self), Array(payload)))
        }
        return requests
    }

    /// Appends one response record: status byte, `u32 LE length`, body.
    static func appendResponse(status: UInt8, body: [UInt8], to output: inout [UInt8]) {
        output.append(status)
        appendField(body, to: &output)
    }

    /// Appends `u32 LE length` then the bytes.
    static func appendField(_ bytes: [UInt8], to output: inout [UInt8]) {
        let length = UInt32(bytes.count)
        for shift in stride(from: UInt32(0), to: 32, by: 8) {
            output.append(UInt8(truncatingIfNeeded: length >> shift))
        }
        output.append(contentsOf: bytes)
    }

    /// Reads one `u32 LE length, bytes` field, or nil when the input ends inside it.
    private static func field(in input: [UInt8], at position: inout Int) -> ArraySlice<UInt8>? {
        guard input.count - position >= 4 else { return nil }
        var length = 0
        for index in 0..<4 { length |= Int(input[position + index]) << (8 * index) }
        position += 4
        guard input.count - position >= length else { return nil }
        defer { position += length }
        return input[position..<(position + length)]
    }
}
