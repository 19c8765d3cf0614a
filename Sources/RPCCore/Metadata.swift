/// Ordered multimap of gRPC custom metadata: lowercase ASCII keys to text or, for keys ending in "-bin", bytes.
///
/// Entries keep the order they were added in, and a key may appear more than once (HTTP/2 header fields).
/// Keys are lowercased (ASCII only) when added and looked up, because HTTP/2 header names are lowercase
/// (RFC 9113 §8.2.1). `validate()` checks everything else the gRPC over HTTP/2 spec requires; transports call
/// it before sending rather than every `add` trapping, as grpc-go checks metadata when a stream starts.
public struct Metadata: Hashable, Sendable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    /// One key and value; iteration yields them in the order they were added.
    public typealias Element = (key: String, value: Value)

    private struct Entry: Hashable, Sendable {
        var key: String
        var value: Value
    }

    private var entries: [Entry] = []

    /// Creates empty metadata.
    public init() {}

    /// Creates metadata from a literal, keeping the literal's order: `["x-request-id": "abc", "trace-bin": .binary([1])]`.
    public init(dictionaryLiteral elements: (String, Value)...) {
        for (key, value) in elements { add(value, forKey: key) }
    }

    /// How many entries there are, counting repeated keys once per value.
    public var count: Int { entries.count }

    /// Whether there are no entries.
    public var isEmpty: Bool { entries.isEmpty }

    /// The first value added for `key`, or nil.
    public subscript(key: String) -> Value? {
        let key = Self.lowercasedASCII(key)
        return entries.first { $0.key == key }?.value
    }

    /// Every value for `key`, in the order they were added.
    public func values(forKey key: String) -> [Value] {
        let key = Self.lowercasedASCII(key)
        return entries.filter { $0.key == key }.map(\.value)
    }

    /// Appends a value for `key`, keeping any values already there.
    public mutating func add(_ value: Value, forKey key: String) {
        entries.append(Entry(key: Self.lowercasedASCII(key), value: value))
    }

    /// Appends a text value for `key`.
    public mutating func add(_ value: String, forKey key: String) {
        add(.string(value), forKey: key)
    }

    /// Appends a binary value for `key`, which must end in "-bin".
    public mutating func add(_ value: [UInt8], forKey key: String) {
        add(.binary(value), forKey: key)
    }

    /// Appends every entry of `other`, in its order.
    public mutating func add(contentsOf other: Metadata) {
        entries.append(contentsOf: other.entries)
    }

    /// Removes every value for `key`.
    public mutating func removeAll(forKey key: String) {
        let key = Self.lowercasedASCII(key)
        entries.removeAll { $0.key == key }
    }

    /// Iterates the entries in the order they were added.
    public func makeIterator() -> some IteratorProtocol<Element> {
        entries.lazy.map { (key: $0.key, value: $0.value) }.makeIterator()
    }

    /// "[key: value, ...]", binary values in hex.
    public var description: String {
        "[" + entries.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "]"
    }

    // Only A-Z change: a non-ASCII key must stay as it is so that validation reports it.
    private static func lowercasedASCII(_ key: String) -> String {
        guard key.utf8.contains(where: { (0x41...0x5A).contains($0) }) else { return key }
        return String(decoding: key.utf8.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }
}
