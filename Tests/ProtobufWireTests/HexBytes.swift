import ProtobufWire

/// Bytes written as hex pairs ("08 96 01"), so expected encodings read like the protobuf spec.
func hex(_ text: String) -> [UInt8] {
    let digits = text.filter { !$0.isWhitespace }
    precondition(digits.count % 2 == 0, "odd number of hex digits in \(text)")
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        bytes.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

extension Array where Element == UInt8 {
    /// The bytes as lowercase hex pairs separated by spaces, for readable failure messages.
    var hexString: String {
        map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined(separator: " ")
    }
}

/// A varint encoder written independently of the one under test, for building expected bytes.
func referenceVarint(_ value: UInt64) -> [UInt8] {
    var remaining = value
    var bytes: [UInt8] = []
    repeat {
        var byte = UInt8(remaining & 0x7F)
        remaining >>= 7
        if remaining != 0 { byte |= 0x80 }
        bytes.append(byte)
    } while remaining != 0
    return bytes
}

/// A whole length-delimited field built by the reference encoder: key, length, body.
func referenceLengthDelimited(field: Int, _ body: [UInt8]) -> [UInt8] {
    referenceVarint(UInt64(field << 3 | 2)) + referenceVarint(UInt64(body.count)) + body
}

/// Runs `body` on what one `write...` call on a fresh writer produced.
func encoded(_ write: (inout ProtoWriter) -> Void) -> [UInt8] {
    var writer = ProtoWriter()
    write(&writer)
    return writer.bytes
}

/// Reads the first field of `bytes` with `read`, the way generated code reads a field it knows.
func decodeFirstField<T>(
    _ bytes: [UInt8], options: DecodingOptions = DecodingOptions(),
    _ read: (inout ProtoReader, FieldTag) throws(ProtoDecodingError) -> T
) throws(ProtoDecodingError) -> T {
    let outcome = bytes.withUnsafeBytes { buffer -> Result<T, ProtoDecodingError> in
        var reader = ProtoReader(buffer: buffer, options: options)
        do throws(ProtoDecodingError) {
            guard let tag = try reader.nextTag() else {
                return .failure(ProtoDecodingError(kind: .truncated, offset: 0, problem: "test input has no field"))
            }
            return .success(try read(&reader, tag))
        } catch {
            return .failure(error)
        }
    }
    return try outcome.get()
}

/// The error decoding `bytes` as `M` throws, or nil when it decodes.
func decodingError<M: ProtoMessage>(_ type: M.Type, _ bytes: [UInt8], options: DecodingOptions = DecodingOptions())
    -> ProtoDecodingError?
{
    do {
        _ = try M(serializedBytes: bytes, options: options)
        return nil
    } catch {
        return error
    }
}
