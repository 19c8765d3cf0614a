/// A JSON value as FHIR's JSON representation uses it (https://hl7.org/fhir/R4/json.html): objects keep their
/// members in order, numbers keep their literal text (FHIR decimals carry their precision), and keys are unique.
public enum FHIRJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number as written, e.g. "4.50" (a FHIR decimal keeps its trailing zero).
    case number(String)
    case string(String)
    case array([FHIRJSON])
    case object([Member])

    /// One member of an object.
    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: FHIRJSON

        public init(_ key: String, _ value: FHIRJSON) {
            self.key = key
            self.value = value
        }
    }

    /// An object of the given members in order; members whose value is nil are left out, so optional FHIR
    /// elements can be written inline.
    public static func members(_ pairs: KeyValuePairs<String, FHIRJSON?>) -> FHIRJSON {
        .object(pairs.compactMap { key, value in value.map { Member(key, $0) } })
    }

    /// A JSON integer.
    public static func integer(_ value: some BinaryInteger) -> FHIRJSON { .number(String(value)) }

    /// An array, or nil when `elements` is empty: FHIR forbids empty arrays.
    public static func nonEmptyArray(_ elements: [FHIRJSON]) -> FHIRJSON? { elements.isEmpty ? nil : .array(elements) }

    /// The value of member `key` when this is an object that has it.
    public subscript(key: String) -> FHIRJSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The string, when this is one.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The elements, when this is an array.
    public var arrayValue: [FHIRJSON]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The members, when this is an object.
    public var objectMembers: [Member]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The boolean, when this is one.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// What kind of JSON value this is, for error messages ("expected a string, found an array").
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

extension FHIRJSON {
    /// UTF-8 JSON text of this value: indented by two spaces per level when `pretty`, else without any
    /// whitespace. Non-ASCII characters are written as themselves and "/" is not escaped.
    public func serialized(pretty: Bool = true) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        write(to: &output, pretty: pretty, indent: 0)
        if pretty { output.append(UInt8(ascii: "\n")) }
        return output
    }

    /// The text of `serialized(pretty:)`.
    public func text(pretty: Bool = true) -> String { String(decoding: serialized(pretty: pretty), as: UTF8.self) }

    /// Appends this value to `output` at nesting level `indent` (the caller has written the indentation of the
    /// value's first line).
    public func write(to output: inout [UInt8], pretty: Bool, indent: Int) {
        switch self {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let value): output.append(contentsOf: (value ? "true" : "false").utf8)
        case .number(let literal): output.append(contentsOf: literal.utf8)
        case .string(let text): Self.writeString(text, to: &output)
        case .array(let elements):
            if elements.isEmpty {
                output.append(contentsOf: "[]".utf8)
                return
            }
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                Self.newline(&output, pretty: pretty, indent: indent + 1)
                element.write(to: &output, pretty: pretty, indent: indent + 1)
            }
            Self.newline(&output, pretty: pretty, indent: indent)
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            if members.isEmpty {
                output.append(contentsOf: "{}".utf8)
                return
            }
            output.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                Self.newline(&output, pretty: pretty, indent: indent + 1)
                Self.writeString(member.key, to: &output)
                output.append(UInt8(ascii: ":"))
                if pretty { output.append(UInt8(ascii: " ")) }
                member.value.write(to: &output, pretty: pretty, indent: indent + 1)
            }
            Self.newline(&output, pretty: pretty, indent: indent)
            output.append(UInt8(ascii: "}"))
        }
    }

    /// A line break and `indent` levels of two spaces, when pretty.
    public static func newline(_ output: inout [UInt8], pretty: Bool, indent: Int) {
        guard pretty else { return }
        output.append(UInt8(ascii: "\n"))
        output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * indent))
    }

    /// A JSON string literal (RFC 8259 section 7): quotes, backslashes and control characters escaped.
    public static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): output.append(contentsOf: "\\\\".utf8)
            case 0x0A: output.append(contentsOf: "\\n".utf8)
            case 0x0D: output.append(contentsOf: "\\r".utf8)
            case 0x09: output.append(contentsOf: "\\t".utf8)
            case 0x08: output.append(contentsOf: "\\b".utf8)
            case 0x0C: output.append(contentsOf: "\\f".utf8)
            case 0x00..<0x20:
                let digits = Array("0123456789abcdef".utf8)
                output.append(contentsOf: "\\u00".utf8)
                output.append(digits[Int(byte >> 4)])
                output.append(digits[Int(byte & 0x0F)])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
