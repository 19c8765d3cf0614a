/// Builders for decoding errors, kept out of line so the hot paths stay small.
extension ProtoReader {
    /// An error of `kind` at `offset`, naming `field` when known.
    @usableFromInline @inline(never)
    internal func makeError(
        _ kind: ProtoDecodingError.Kind, field: StaticString?, at offset: Int, _ problem: String
    ) -> ProtoDecodingError {
        ProtoDecodingError(kind: kind, field: field.map { $0.description }, offset: offset, problem: problem)
    }

    /// The error for a key with a bad wire type, a bad field number, or a stray END_GROUP.
    @usableFromInline @inline(never)
    internal func invalidKey(_ key: UInt64) -> ProtoDecodingError {
        let wireBits = key & 7
        let number = key >> 3
        if wireBits >= 6 {
            return makeError(
                .invalidWireType, field: nil, at: tagOffset, "invalid wire type \(wireBits) for field \(number)")
        }
        if number == 0 || number > UInt64(FieldTag.maxFieldNumber) {
            return makeError(.invalidFieldNumber, field: nil, at: tagOffset, "invalid field number \(number)")
        }
        return makeError(
            .unmatchedEndGroup, field: nil, at: tagOffset, "end-group tag for field \(number) without a start-group")
    }

    /// The error for a known field that arrived with a wire type it can't have.
    @usableFromInline @inline(never)
    internal func wrongWireType(_ tag: FieldTag, expected: WireType, field: StaticString) -> ProtoDecodingError {
        makeError(
            .wrongWireType, field: field, at: tagOffset,
            "field \(tag.fieldNumber) has wire type \(tag.wireType) but expected \(expected)")
    }

    /// The error for a length prefix longer than what is left of the current message.
    @usableFromInline @inline(never)
    internal func lengthExceedsInput(_ length: UInt64, prefixOffset: Int, field: StaticString?) -> ProtoDecodingError {
        makeError(
            .lengthExceedsInput, field: field, at: prefixOffset,
            "length prefix \(length) exceeds the \(remaining) remaining bytes")
    }
}
