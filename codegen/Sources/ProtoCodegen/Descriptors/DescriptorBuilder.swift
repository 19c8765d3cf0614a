import ProtobufWire

/// Serializes `google.protobuf.FileDescriptorProto` from the model by hand, the way protoc builds it for
/// `--descriptor_set_out` (no source info): same fields, same order, so reflection clients see what protoc
/// would show them. Field numbers are those of google/protobuf/descriptor.proto.
public enum DescriptorBuilder {
    /// The serialized `FileDescriptorProto` of `file`.
    public static func fileDescriptorProto(for file: ProtoFile, in model: ProtoModel) -> [UInt8] {
        var writer = ProtoWriter()
        writeFile(file, to: &writer)
        return writer.bytes
    }

    /// A serialized `FileDescriptorSet` of the named files in the order given, as `protoc --descriptor_set_out`
    /// writes it without `--include_imports`; paths not in the model are left out.
    public static func fileDescriptorSet(for model: ProtoModel, files: [String]) -> [UInt8] {
        var writer = ProtoWriter()
        for file in files.compactMap(model.file) {
            writer.writeLengthDelimited(field: FileDescriptorSetField.file) { writeFile(file, to: &$0) }
        }
        return writer.bytes
    }

    private static func writeFile(_ file: ProtoFile, to writer: inout ProtoWriter) {
        writer.writeString(file.path, field: FileField.name)
        if !file.package.isEmpty {
            writer.writeString(file.package, field: FileField.package)
        }
        for dependency in file.dependencies {
            writer.writeString(dependency, field: FileField.dependency)
        }
        for message in file.messages {
            writer.writeLengthDelimited(field: FileField.messageType) { writeMessage(message, to: &$0) }
        }
        for enumType in file.enums {
            writer.writeLengthDelimited(field: FileField.enumType) { writeEnum(enumType, to: &$0) }
        }
        for service in file.services {
            writer.writeLengthDelimited(field: FileField.service) { writeService(service, to: &$0) }
        }
        let options = knownFileOptions(file.options)
        if !options.isEmpty {
            writer.writeLengthDelimited(field: FileField.options) { writer in
                for option in options { option.write(&writer) }
            }
        }
        // descriptor.proto is proto2: these repeated int32 fields are not packed.
        for index in file.publicDependencies {
            writer.writeInt32(Int32(index), field: FileField.publicDependency)
        }
        for index in file.weakDependencies {
            writer.writeInt32(Int32(index), field: FileField.weakDependency)
        }
        writer.writeString("proto3", field: FileField.syntax)
    }

    private static func writeMessage(_ message: MessageType, to writer: inout ProtoWriter) {
        writer.writeString(message.name, field: MessageField.name)
        let optionalFields = message.fields.filter(\.isProto3Optional)
        for field in message.fields {
            writer.writeLengthDelimited(field: MessageField.field) { writer in
                let syntheticOneof = optionalFields.firstIndex(of: field).map { message.oneofs.count + $0 }
                writeField(field, syntheticOneofIndex: syntheticOneof, to: &writer)
            }
        }
        for nested in declarationOrdered(message.nestedMessages) {
            writer.writeLengthDelimited(field: MessageField.nestedType) { writeMessage(nested, to: &$0) }
        }
        for nested in message.nestedEnums {
            writer.writeLengthDelimited(field: MessageField.enumType) { writeEnum(nested, to: &$0) }
        }
        if message.isDeprecated || message.isMapEntry {
            writer.writeLengthDelimited(field: MessageField.options) { writer in
                if message.isDeprecated { writer.writeBool(true, field: MessageOptionsField.deprecated) }
                if message.isMapEntry { writer.writeBool(true, field: MessageOptionsField.mapEntry) }
            }
        }
        for oneof in message.oneofs {
            writer.writeLengthDelimited(field: MessageField.oneofDecl) { writer in
                writer.writeString(oneof.name, field: OneofField.name)
            }
        }
        // protoc gives each proto3 `optional` field a synthetic oneof "_<name>" after the real ones.
        for field in optionalFields {
            writer.writeLengthDelimited(field: MessageField.oneofDecl) { writer in
                writer.writeString("_" + field.name, field: OneofField.name)
            }
        }
        for range in message.reservedRanges {
            writer.writeLengthDelimited(field: MessageField.reservedRange) { writer in
                writer.writeInt32(Int32(range.lowerBound), field: ReservedRangeField.start)
                // DescriptorProto.ReservedRange.end is exclusive.
                writer.writeInt32(Int32(range.upperBound + 1), field: ReservedRangeField.end)
            }
        }
        for name in message.reservedNames {
            writer.writeString(name, field: MessageField.reservedName)
        }
    }

    /// Nested messages in source order: protoc adds a map's entry message where the map field is declared,
    /// between the nested messages written before and after it.
    private static func declarationOrdered(_ messages: [MessageType]) -> [MessageType] {
        messages.enumerated().sorted { lhs, rhs in
            let (left, right) = (lhs.element.location, rhs.element.location)
            if left.line != right.line { return left.line < right.line }
            if left.column != right.column { return left.column < right.column }
            return lhs.offset < rhs.offset
        }.map(\.element)
    }

    private static func writeField(_ field: Field, syntheticOneofIndex: Int?, to writer: inout ProtoWriter) {
        writer.writeString(field.name, field: FieldField.name)
        writer.writeInt32(Int32(field.number), field: FieldField.number)
        writer.writeInt32(Int32(field.label.rawValue), field: FieldField.label)
        switch field.type {
        case .scalar(let scalar):
            writer.writeInt32(Int32(scalar.descriptorType), field: FieldField.type)
        case .message(let name):
            writer.writeInt32(FieldTypeNumber.message, field: FieldField.type)
            writer.writeString("." + name, field: FieldField.typeName)
        case .enumeration(let name):
            writer.writeInt32(FieldTypeNumber.enumeration, field: FieldField.type)
            writer.writeString("." + name, field: FieldField.typeName)
        case .map(_, _, let entry):
            writer.writeInt32(FieldTypeNumber.message, field: FieldField.type)
            writer.writeString("." + entry, field: FieldField.typeName)
        }
        if field.explicitPackedOption != nil || field.isDeprecated {
            writer.writeLengthDelimited(field: FieldField.options) { writer in
                if let packed = field.explicitPackedOption { writer.writeBool(packed, field: FieldOptionsField.packed) }
                if field.isDeprecated { writer.writeBool(true, field: FieldOptionsField.deprecated) }
            }
        }
        if let index = field.oneofIndex ?? syntheticOneofIndex {
            writer.writeInt32(Int32(index), field: FieldField.oneofIndex)
        }
        writer.writeString(field.jsonName, field: FieldField.jsonName)
        if field.isProto3Optional {
            writer.writeBool(true, field: FieldField.proto3Optional)
        }
    }

    private static func writeEnum(_ enumType: EnumType, to writer: inout ProtoWriter) {
        writer.writeString(enumType.name, field: EnumField.name)
        for value in enumType.values {
            writer.writeLengthDelimited(field: EnumField.value) { writer in
                writer.writeString(value.name, field: EnumValueField.name)
                writer.writeInt32(value.number, field: EnumValueField.number)
            }
        }
        if enumType.allowAlias {
            writer.writeLengthDelimited(field: EnumField.options) { writer in
                writer.writeBool(true, field: EnumOptionsField.allowAlias)
            }
        }
        for range in enumType.reservedRanges {
            writer.writeLengthDelimited(field: EnumField.reservedRange) { writer in
                // EnumDescriptorProto.EnumReservedRange.end is inclusive, unlike the message one.
                writer.writeInt32(range.lowerBound, field: ReservedRangeField.start)
                writer.writeInt32(range.upperBound, field: ReservedRangeField.end)
            }
        }
        for name in enumType.reservedNames {
            writer.writeString(name, field: EnumField.reservedName)
        }
    }

    private static func writeService(_ service: Service, to writer: inout ProtoWriter) {
        writer.writeString(service.name, field: ServiceField.name)
        for method in service.methods {
            writer.writeLengthDelimited(field: ServiceField.method) { writer in
                writer.writeString(method.name, field: MethodField.name)
                writer.writeString("." + method.inputType, field: MethodField.inputType)
                writer.writeString("." + method.outputType, field: MethodField.outputType)
                // protoc sets the streaming flags only when `stream` is written.
                if method.clientStreaming { writer.writeBool(true, field: MethodField.clientStreaming) }
                if method.serverStreaming { writer.writeBool(true, field: MethodField.serverStreaming) }
            }
        }
    }

    /// The file options `FileOptions` defines, in field-number order; others (custom options) are left out.
    private static func knownFileOptions(_ options: [FileOption]) -> [KnownFileOption] {
        options.compactMap { option in
            KnownFileOption.all[option.name].map { KnownFileOption(definition: $0, value: option.value) }
        }.sorted { $0.definition.number < $1.definition.number }
    }
}

/// A `google.protobuf.FileOptions` field this builder can write, with the value given in the file.
private struct KnownFileOption {
    enum Kind { case string, bool, optimizeMode }

    struct Definition {
        var number: Int
        var kind: Kind
    }

    /// FileOptions fields by option name (descriptor.proto).
    static let all: [String: Definition] = [
        "java_package": Definition(number: 1, kind: .string),
        "java_outer_classname": Definition(number: 8, kind: .string),
        "optimize_for": Definition(number: 9, kind: .optimizeMode),
        "java_multiple_files": Definition(number: 10, kind: .bool),
        "go_package": Definition(number: 11, kind: .string),
        "cc_generic_services": Definition(number: 16, kind: .bool),
        "java_generic_services": Definition(number: 17, kind: .bool),
        "py_generic_services": Definition(number: 18, kind: .bool),
        "java_generate_equals_and_hash": Definition(number: 20, kind: .bool),
        "deprecated": Definition(number: 23, kind: .bool),
        "java_string_check_utf8": Definition(number: 27, kind: .bool),
        "cc_enable_arenas": Definition(number: 31, kind: .bool),
        "objc_class_prefix": Definition(number: 36, kind: .string),
        "csharp_namespace": Definition(number: 37, kind: .string),
        "swift_prefix": Definition(number: 39, kind: .string),
        "php_class_prefix": Definition(number: 40, kind: .string),
        "php_namespace": Definition(number: 41, kind: .string),
        "php_generic_services": Definition(number: 42, kind: .bool),
        "php_metadata_namespace": Definition(number: 44, kind: .string),
        "ruby_package": Definition(number: 45, kind: .string),
    ]

    var definition: Definition
    var value: String

    func write(_ writer: inout ProtoWriter) {
        switch definition.kind {
        case .string:
            writer.writeString(value, field: definition.number)
        case .bool:
            writer.writeBool(value == "true", field: definition.number)
        case .optimizeMode:
            let modes: [String: Int32] = ["SPEED": 1, "CODE_SIZE": 2, "LITE_RUNTIME": 3]
            writer.writeInt32(modes[value] ?? 1, field: definition.number)
        }
    }
}
