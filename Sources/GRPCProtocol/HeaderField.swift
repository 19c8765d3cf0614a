/// A header field as HTTP/2 carries it (names lowercase, RFC 9113 §8.2.1).
public struct HeaderField: Hashable, Sendable, CustomStringConvertible {
    /// The field name, lowercase; pseudo-header names start with ":".
    public var name: String
    /// The field value as sent on the wire (base64 text for "-bin" metadata, percent-encoded for grpc-message).
    public var value: String

    /// Creates a field from a name and a value.
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    /// "name: value", for logs and test failures.
    public var description: String { "\(name): \(value)" }
}

extension Array where Element == HeaderField {
    /// The value of the first field called `name`, or nil.
    func firstValue(named name: String) -> String? {
        first { $0.name == name }?.value
    }
}
