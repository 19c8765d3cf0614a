/// UTF-8 validation per RFC 3629 (no overlong forms, no surrogates, nothing above U+10FFFF).
///
/// The standard library's `String(validating:as:)` runs through an unspecialized generic path that
/// costs more than the check itself for short strings, so strings are checked here and then built
/// with `String(decoding:as:)`.
@usableFromInline
enum UTF8Validation {
    /// True when the `count` bytes at `start` are well-formed UTF-8.
    @inlinable
    static func isValid(_ start: UnsafeRawPointer, count: Int) -> Bool {
        var index = 0
        // ASCII runs are checked eight bytes at a time.
        while index &+ 8 <= count {
            if start.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { break }
            index &+= 8
        }
        while index < count {
            if start.load(fromByteOffset: index, as: UInt8.self) < 0x80 {
                index &+= 1
            } else {
                guard let length = multiByteSequenceLength(start, at: index, count: count) else { return false }
                index &+= length
            }
        }
        return true
    }

    /// Length of the well-formed multi-byte sequence starting at `index`, or nil if it is malformed.
    @usableFromInline
    static func multiByteSequenceLength(_ start: UnsafeRawPointer, at index: Int, count: Int) -> Int? {
        @inline(__always) func byte(_ offset: Int) -> UInt8 {
            start.load(fromByteOffset: index &+ offset, as: UInt8.self)
        }
        @inline(__always) func isContinuation(_ value: UInt8) -> Bool { value & 0xC0 == 0x80 }
        let lead = byte(0)
        switch lead {
        case 0xC2...0xDF:
            guard index &+ 1 < count, isContinuation(byte(1)) else { return nil }
            return 2
        case 0xE0...0xEF:
            guard index &+ 2 < count else { return nil }
            let second = byte(1)
            // E0 needs A0...BF (no overlong forms); ED needs 80...9F (no UTF-16 surrogates).
            let secondRange: ClosedRange<UInt8> =
                lead == 0xE0 ? 0xA0...0xBF : lead == 0xED ? 0x80...0x9F : 0x80...0xBF
            guard secondRange.contains(second), isContinuation(byte(2)) else { return nil }
            return 3
        case 0xF0...0xF4:
            guard index &+ 3 < count else { return nil }
            let second = byte(1)
            // F0 needs 90...BF (no overlong forms); F4 needs 80...8F (nothing above U+10FFFF).
            let secondRange: ClosedRange<UInt8> =
                lead == 0xF0 ? 0x90...0xBF : lead == 0xF4 ? 0x80...0x8F : 0x80...0xBF
            guard secondRange.contains(second), isContinuation(byte(2)), isContinuation(byte(3)) else { return nil }
            return 4
        default:
            // Continuation bytes, C0/C1 (overlong) and F5...FF never start a sequence.
            return nil
        }
    }
}
