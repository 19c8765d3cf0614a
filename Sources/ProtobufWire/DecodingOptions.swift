/// Limits applied while decoding untrusted input.
public struct DecodingOptions: Sendable {
    /// How many messages, length-delimited entries (map entries) and groups may be nested inside the
    /// top-level message; one more fails with `.nestingTooDeep` instead of exhausting the stack.
    public var maxDepth: Int = 100

    /// Creates options; the default depth matches the protobuf reference implementations.
    public init(maxDepth: Int = 100) {
        self.maxDepth = maxDepth
    }
}
