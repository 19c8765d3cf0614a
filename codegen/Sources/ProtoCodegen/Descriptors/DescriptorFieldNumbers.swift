// Field numbers of google/protobuf/descriptor.proto, the schema of the descriptors we serialize.

/// `FileDescriptorSet` fields.
enum FileDescriptorSetField {
    static let file = 1
}

/// `FileDescriptorProto` fields.
enum FileField {
    static let name = 1
    static let package = 2
    static let dependency = 3
    static let messageType = 4
    static let enumType = 5
    static let service = 6
    static let options = 8
    static let publicDependency = 10
    static let weakDependency = 11
    static let syntax = 12
}

/// `DescriptorProto` fields.
enum MessageField {
    static let name = 1
    static let field = 2
    static let nestedType = 3
    static let enumType = 4
    static let options = 7
    static let oneofDecl = 8
    static let reservedRange = 9
    static let reservedName = 10
}

/// `DescriptorProto.ReservedRange` and `EnumDescriptorProto.EnumReservedRange` fields.
enum ReservedRangeField {
    static let start = 1
    static let end = 2
}

/// `MessageOptions` fields.
enum MessageOptionsField {
    static let deprecated = 3
    static let mapEntry = 7
}

/// `FieldDescriptorProto` fields.
enum FieldField {
    static let name = 1
    static let number = 3
    static let label = 4
    static let type = 5
    static let typeName = 6
    static let options = 8
    static let oneofIndex = 9
    static let jsonName = 10
    static let proto3Optional = 17
}

/// `FieldDescriptorProto.Type` values for named types (scalars carry theirs in `ScalarType.descriptorType`).
enum FieldTypeNumber {
    static let message: Int32 = 11
    static let enumeration: Int32 = 14
}

/// `FieldOptions` fields.
enum FieldOptionsField {
    static let packed = 2
    static let deprecated = 3
}

/// `OneofDescriptorProto` fields.
enum OneofField {
    static let name = 1
}

/// `EnumDescriptorProto` fields.
enum EnumField {
    static let name = 1
    static let value = 2
    static let options = 3
    static let reservedRange = 4
    static let reservedName = 5
}

/// `EnumValueDescriptorProto` fields.
enum EnumValueField {
    static let name = 1
    static let number = 2
}

/// `EnumOptions` fields.
enum EnumOptionsField {
    static let allowAlias = 2
}

/// `ServiceDescriptorProto` fields.
enum ServiceField {
    static let name = 1
    static let method = 2
}

/// `MethodDescriptorProto` fields.
enum MethodField {
    static let name = 1
    static let inputType = 2
    static let outputType = 3
    static let clientStreaming = 5
    static let serverStreaming = 6
}
