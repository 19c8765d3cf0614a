import ProtobufWire

/// The names one serialized `google.protobuf.FileDescriptorProto` declares, read with `ProtoReader`.
///
/// Only the parts reflection needs are read; field numbers are those of google/protobuf/descriptor.proto.
/// Symbols follow protoc's `DescriptorPool`: messages (nested too), fields, oneofs, enums, enum values as
/// siblings of their enum (`pkg.VALUE`, C++ scoping), extensions, services and methods (`pkg.Service.Method`).
/// Enum values are also listed apart under their enum (`pkg.Enum.VALUE`), the name people tend to ask for.
struct FileDescriptorOutline: Sendable {
    /// The file's include-relative path (FileDescriptorProto.name).
    var name = ""
    /// The package, "" when the file has none.
    var package = ""
    /// Include-relative paths of the imported files, in declaration order.
    var dependencies: [String] = []
    /// Every fully-qualified symbol the file declares, as protoc's DescriptorPool names them.
    var symbols: [String] = []
    /// Every enum value named under its enum ("pkg.Enum.VALUE"), which protoc does not resolve.
    var enumValueAliases: [String] = []
    /// Fully-qualified names of the message types, nested ones included.
    var messageTypes: [String] = []
    /// The extensions the file declares, by extended type and field number.
    var extensions: [ExtensionKey] = []

    /// Reads the outline of `serializedDescriptor`.
    init(serializedDescriptor: [UInt8]) throws(ProtoDecodingError) {
        // Array.withUnsafeBytes is untyped `rethrows`, so the typed error travels out as a value.
        let outcome = serializedDescriptor.withUnsafeBytes { buffer -> Result<Self, ProtoDecodingError> in
            var reader = ProtoReader(buffer: buffer)
            do throws(ProtoDecodingError) {
                return .success(try Self(reading: &reader))
            } catch {
                return .failure(error)
            }
        }
        self = try outcome.get()
    }

    private init(reading reader: inout ProtoReader) throws(ProtoDecodingError) {
        // Names are collected relative to the package and qualified at the end, so nothing depends on
        // `package` preceding the declarations in the bytes.
        var declared = DeclaredNames()
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1: name = try reader.readString(tag, field: "google.protobuf.FileDescriptorProto.name")
            case 2: package = try reader.readString(tag, field: "google.protobuf.FileDescriptorProto.package")
            case 3:
                let dependency = try reader.readString(tag, field: "google.protobuf.FileDescriptorProto.dependency")
                dependencies.append(dependency)
            case 4:
                let message = try reader.readEmbedded(
                    tag, field: "google.protobuf.FileDescriptorProto.message_type", DeclaredNames.init(message:))
                declared.append(message)
            case 5:
                let enumeration = try reader.readEmbedded(
                    tag, field: "google.protobuf.FileDescriptorProto.enum_type", DeclaredNames.init(enum:))
                declared.append(enumeration)
            case 6:
                let service = try reader.readEmbedded(
                    tag, field: "google.protobuf.FileDescriptorProto.service", DeclaredNames.init(service:))
                declared.append(service)
            case 7:
                let extensionField = try reader.readEmbedded(
                    tag, field: "google.protobuf.FileDescriptorProto.extension", DeclaredNames.init(extension:))
                declared.append(extensionField)
            default:
                try reader.skipField(tag)
            }
        }
        let prefix = package.isEmpty ? "" : package + "."
        symbols = declared.symbols.map { prefix + $0 }
        enumValueAliases = declared.enumValueAliases.map { prefix + $0 }
        messageTypes = declared.messageTypes.map { prefix + $0 }
        extensions = declared.extensions
    }
}

/// An extension's identity: the message it extends and its field number.
struct ExtensionKey: Hashable, Sendable {
    /// Fully-qualified name of the extended message, without a leading dot.
    var extendee: String
    /// The extension's field number.
    var number: Int32
}

/// Names declared inside one scope (a file or a message), relative to that scope.
private struct DeclaredNames {
    var symbols: [String] = []
    var enumValueAliases: [String] = []
    var messageTypes: [String] = []
    var extensions: [ExtensionKey] = []

    init() {}

    /// Adds names declared in the same scope.
    mutating func append(_ other: DeclaredNames) {
        symbols += other.symbols
        enumValueAliases += other.enumValueAliases
        messageTypes += other.messageTypes
        extensions += other.extensions
    }

    /// Reads a DescriptorProto: the message, and its members qualified by its name.
    init(message reader: inout ProtoReader) throws(ProtoDecodingError) {
        var name = ""
        var members = DeclaredNames()
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1:
                name = try reader.readString(tag, field: "google.protobuf.DescriptorProto.name")
            case 2:
                let field = try reader.readEmbedded(
                    tag, field: "google.protobuf.DescriptorProto.field", ProtoReader.readFieldName)
                members.symbols.append(field)
            case 3:
                let nested = try reader.readEmbedded(
                    tag, field: "google.protobuf.DescriptorProto.nested_type", DeclaredNames.init(message:))
                members.append(nested)
            case 4:
                let enumeration = try reader.readEmbedded(
                    tag, field: "google.protobuf.DescriptorProto.enum_type", DeclaredNames.init(enum:))
                members.append(enumeration)
            case 6:
                let extensionField = try reader.readEmbedded(
                    tag, field: "google.protobuf.DescriptorProto.extension", DeclaredNames.init(extension:))
                members.append(extensionField)
            case 8:
                let oneof = try reader.readEmbedded(
                    tag, field: "google.protobuf.DescriptorProto.oneof_decl", ProtoReader.readOneofName)
                members.symbols.append(oneof)
            default:
                try reader.skipField(tag)
            }
        }
        symbols = [name] + members.symbols.map { name + "." + $0 }
        enumValueAliases = members.enumValueAliases.map { name + "." + $0 }
        messageTypes = [name] + members.messageTypes.map { name + "." + $0 }
        extensions = members.extensions
    }

    /// Reads an EnumDescriptorProto: the enum, its values beside it (C++ scoping) and, as aliases, under it.
    init(enum reader: inout ProtoReader) throws(ProtoDecodingError) {
        var name = ""
        var values: [String] = []
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1:
                name = try reader.readString(tag, field: "google.protobuf.EnumDescriptorProto.name")
            case 2:
                let value = try reader.readEmbedded(
                    tag, field: "google.protobuf.EnumDescriptorProto.value", ProtoReader.readEnumValueName)
                values.append(value)
            default:
                try reader.skipField(tag)
            }
        }
        symbols = [name] + values
        enumValueAliases = values.map { name + "." + $0 }
    }

    /// Reads a ServiceDescriptorProto: the service and its methods.
    init(service reader: inout ProtoReader) throws(ProtoDecodingError) {
        var name = ""
        var methods: [String] = []
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1:
                name = try reader.readString(tag, field: "google.protobuf.ServiceDescriptorProto.name")
            case 2:
                let method = try reader.readEmbedded(
                    tag, field: "google.protobuf.ServiceDescriptorProto.method", ProtoReader.readMethodName)
                methods.append(method)
            default:
                try reader.skipField(tag)
            }
        }
        symbols = [name] + methods.map { name + "." + $0 }
    }

    /// Reads a FieldDescriptorProto declaring an extension: its name and what it extends.
    init(extension reader: inout ProtoReader) throws(ProtoDecodingError) {
        var name = ""
        var extendee = ""
        var number: Int32 = 0
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1: name = try reader.readString(tag, field: "google.protobuf.FieldDescriptorProto.name")
            case 2: extendee = try reader.readString(tag, field: "google.protobuf.FieldDescriptorProto.extendee")
            case 3: number = try reader.readInt32(tag, field: "google.protobuf.FieldDescriptorProto.number")
            default: try reader.skipField(tag)
            }
        }
        symbols = [name]
        // protoc writes resolved type names with a leading dot (".pkg.Message").
        let qualified = extendee.hasPrefix(".") ? String(extendee.dropFirst()) : extendee
        extensions = [ExtensionKey(extendee: qualified, number: number)]
    }
}

extension ProtoReader {
    /// Reads an embedded message with `body` and returns what it built.
    fileprivate mutating func readEmbedded<Value>(
        _ tag: FieldTag, field: StaticString, _ body: (inout ProtoReader) throws(ProtoDecodingError) -> Value
    ) throws(ProtoDecodingError) -> Value {
        var value: Value?
        try readLengthDelimited(tag, field: field) { (inner: inout ProtoReader) throws(ProtoDecodingError) in
            value = try body(&inner)
        }
        guard let value else { preconditionFailure("readLengthDelimited returned without running its body") }
        return value
    }

    /// Reads a FieldDescriptorProto's name.
    fileprivate static func readFieldName(_ reader: inout ProtoReader) throws(ProtoDecodingError) -> String {
        try reader.readName(field: "google.protobuf.FieldDescriptorProto.name")
    }

    /// Reads a OneofDescriptorProto's name.
    fileprivate static func readOneofName(_ reader: inout ProtoReader) throws(ProtoDecodingError) -> String {
        try reader.readName(field: "google.protobuf.OneofDescriptorProto.name")
    }

    /// Reads an EnumValueDescriptorProto's name.
    fileprivate static func readEnumValueName(_ reader: inout ProtoReader) throws(ProtoDecodingError) -> String {
        try reader.readName(field: "google.protobuf.EnumValueDescriptorProto.name")
    }

    /// Reads a MethodDescriptorProto's name.
    fileprivate static func readMethodName(_ reader: inout ProtoReader) throws(ProtoDecodingError) -> String {
        try reader.readName(field: "google.protobuf.MethodDescriptorProto.name")
    }

    /// Reads field 1 (`name`, in every descriptor that has one) and skips the rest.
    private mutating func readName(field: StaticString) throws(ProtoDecodingError) -> String {
        var name = ""
        while let tag = try nextTag() {
            if tag.fieldNumber == 1 {
                name = try readString(tag, field: field)
            } else {
                try skipField(tag)
            }
        }
        return name
    }
}
