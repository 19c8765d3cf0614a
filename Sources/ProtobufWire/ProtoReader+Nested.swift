/// Embedded messages and other length-delimited bodies: the reader narrows its limit to the body,
/// so offsets keep counting from the start of the top-level input, and counts the nesting depth.
extension ProtoReader {
    /// Decodes a length-delimited sub-message, merging into `message` (creating it when nil). Depth-limited.
    @inlinable
    public mutating func readMessage<M: ProtoMessage>(
        _ tag: FieldTag, into message: inout M?, field: StaticString
    ) throws(ProtoDecodingError) {
        var target: M
        if let existing = message {
            // Move the value out first so the merge mutates a uniquely held copy (no copy-on-write).
            message = nil
            target = existing
        } else {
            target = M()
        }
        try readMessage(tag, into: &target, field: field)
        message = target
    }

    /// Decodes a length-delimited sub-message, merging into `message` (protobuf merge semantics). Depth-limited.
    @inlinable
    public mutating func readMessage<M: ProtoMessage>(
        _ tag: FieldTag, into message: inout M, field: StaticString
    ) throws(ProtoDecodingError) {
        let outerLimit = try enterLengthDelimited(tag, field: field)
        do {
            try message.decodeFields(from: &self)
        } catch {
            throw error.locatedIn(field)
        }
        leaveLengthDelimited(outerLimit)
    }

    /// Decodes one element of a repeated message field and appends it, decoding in place in the
    /// array so the element is never copied. Depth-limited.
    @inlinable
    public mutating func readRepeatedMessage<M: ProtoMessage>(
        _ tag: FieldTag, into messages: inout [M], field: StaticString
    ) throws(ProtoDecodingError) {
        messages.append(M())
        try readMessage(tag, into: &messages[messages.count &- 1], field: field)
    }

    /// Calls `body` with this reader limited to one length-delimited field's contents (used for map
    /// entries). Depth-limited like messages.
    @inlinable
    public mutating func readLengthDelimited(
        _ tag: FieldTag, field: StaticString, _ body: (inout ProtoReader) throws(ProtoDecodingError) -> Void
    ) throws(ProtoDecodingError) {
        let outerLimit = try enterLengthDelimited(tag, field: field)
        do {
            try body(&self)
        } catch {
            throw error.locatedIn(field)
        }
        leaveLengthDelimited(outerLimit)
    }

    /// Checks wire type, length and depth, then narrows the limit to the body; returns the outer limit.
    @inlinable @inline(__always)
    internal mutating func enterLengthDelimited(_ tag: FieldTag, field: StaticString) throws(ProtoDecodingError) -> Int
    {
        let (start, count) = try readLengthDelimitedRange(tag, field: field)
        guard _fastPath(depth < options.maxDepth) else {
            throw makeError(
                .nestingTooDeep, field: field, at: tagOffset, "more than \(options.maxDepth) nested messages")
        }
        depth &+= 1
        let outerLimit = limit
        limit = start &+ count
        return outerLimit
    }

    /// Skips whatever the body left unread and restores the outer limit.
    @inlinable @inline(__always)
    internal mutating func leaveLengthDelimited(_ outerLimit: Int) {
        position = limit
        limit = outerLimit
        depth &-= 1
    }
}

extension ProtoDecodingError {
    /// Attributes an error from inside a field's body to that field when nothing more precise is known.
    @usableFromInline
    internal func locatedIn(_ enclosingField: StaticString) -> ProtoDecodingError {
        guard field == nil else { return self }
        var located = self
        located.field = enclosingField.description
        return located
    }
}
