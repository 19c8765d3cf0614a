/// Fields the schema doesn't know: skipped, but copied verbatim so they can be re-emitted.
extension ProtoReader {
    /// Copies a field it doesn't know (tag + value, groups included) into `unknown`.
    /// `tag` must be the one the latest `nextTag()` returned.
    @inlinable
    public mutating func skipField(_ tag: FieldTag, into unknown: inout UnknownFields) throws(ProtoDecodingError) {
        let fieldStart = tagOffset
        try skipValue(tag)
        let fieldBytes = UnsafeRawBufferPointer(
            start: base.unsafelyUnwrapped + fieldStart, count: position &- fieldStart)
        unknown.bytes.append(contentsOf: fieldBytes)
    }

    /// Skips a field's value without keeping it.
    @inlinable
    public mutating func skipField(_ tag: FieldTag) throws(ProtoDecodingError) {
        try skipValue(tag)
    }

    /// Moves past the value that follows `tag`, validating its framing.
    @usableFromInline
    internal mutating func skipValue(_ tag: FieldTag) throws(ProtoDecodingError) {
        switch tag.wireType {
        case .varint:
            _ = try readVarint(field: nil)
        case .fixed64:
            _ = try advance(by: 8, field: nil)
        case .fixed32:
            _ = try advance(by: 4, field: nil)
        case .lengthDelimited:
            let count = try readLength(field: nil)
            position &+= count
        case .startGroup:
            try skipGroup(fieldNumber: tag.fieldNumber)
        case .endGroup:
            throw makeError(
                .unmatchedEndGroup, field: nil, at: tagOffset,
                "end-group tag for field \(tag.fieldNumber) without a start-group")
        }
    }

    /// Skips a group's fields up to its END_GROUP with the same number; nested groups count toward
    /// the depth limit, so a group bomb fails instead of exhausting the stack.
    @usableFromInline
    internal mutating func skipGroup(fieldNumber: Int) throws(ProtoDecodingError) {
        let startOffset = tagOffset
        guard depth < options.maxDepth else {
            throw makeError(.nestingTooDeep, field: nil, at: startOffset, "more than \(options.maxDepth) nested groups")
        }
        depth &+= 1
        while true {
            guard position < limit else {
                throw makeError(
                    .truncated, field: nil, at: startOffset, "group \(fieldNumber) has no end-group tag")
            }
            let inner = try readAnyTag()
            if inner.wireType == .endGroup {
                guard inner.fieldNumber == fieldNumber else {
                    throw makeError(
                        .unmatchedEndGroup, field: nil, at: tagOffset,
                        "end-group tag for field \(inner.fieldNumber) inside group \(fieldNumber)")
                }
                break
            }
            try skipValue(inner)
        }
        depth &-= 1
    }
}
