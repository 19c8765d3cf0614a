// The options google/protobuf/descriptor.proto defines for each kind of declaration, with the kind of
// constant each takes. Custom options, written in parentheses, are accepted without checking.

/// Where an option is written.
enum OptionSite: String, Sendable {
    case file, message, field, oneof
    case enumeration = "enum"
    case enumValue = "enum value"
    case service, method
}

/// The constant a built-in option takes.
enum OptionValueKind: Sendable {
    case bool
    case string
    /// One of these enum value names.
    case enumeration([String])
    /// Anything (`default`, checked separately).
    case any
}

/// The built-in options of descriptor.proto.
enum BuiltInOptions {
    /// The options each site accepts, by name.
    static func options(for site: OptionSite) -> [String: OptionValueKind] {
        switch site {
        case .file: file
        case .message: message
        case .field: field
        case .oneof: [:]
        case .enumeration: ["allow_alias": .bool, "deprecated": .bool, "deprecated_legacy_json_field_conflicts": .bool]
        case .enumValue: ["deprecated": .bool, "debug_redact": .bool]
        case .service: ["deprecated": .bool]
        case .method:
            ["deprecated": .bool, "idempotency_level": .enumeration(["IDEMPOTENCY_UNKNOWN", "NO_SIDE_EFFECTS", "IDEMPOTENT"])]
        }
    }

    private static let file: [String: OptionValueKind] = [
        "java_package": .string, "java_outer_classname": .string, "java_multiple_files": .bool,
        "java_generate_equals_and_hash": .bool, "java_string_check_utf8": .bool,
        "optimize_for": .enumeration(["SPEED", "CODE_SIZE", "LITE_RUNTIME"]), "go_package": .string,
        "cc_generic_services": .bool, "java_generic_services": .bool, "py_generic_services": .bool,
        "php_generic_services": .bool, "deprecated": .bool, "cc_enable_arenas": .bool, "objc_class_prefix": .string,
        "csharp_namespace": .string, "swift_prefix": .string, "php_class_prefix": .string, "php_namespace": .string,
        "php_metadata_namespace": .string, "ruby_package": .string,
    ]

    private static let message: [String: OptionValueKind] = [
        "message_set_wire_format": .bool, "no_standard_descriptor_accessor": .bool, "deprecated": .bool,
        "map_entry": .bool, "deprecated_legacy_json_field_conflicts": .bool,
    ]

    private static let field: [String: OptionValueKind] = [
        "ctype": .enumeration(["STRING", "CORD", "STRING_PIECE"]), "packed": .bool,
        "jstype": .enumeration(["JS_NORMAL", "JS_STRING", "JS_NUMBER"]), "lazy": .bool, "unverified_lazy": .bool,
        "deprecated": .bool, "weak": .bool, "debug_redact": .bool,
        "retention": .enumeration(["RETENTION_UNKNOWN", "RETENTION_RUNTIME", "RETENTION_SOURCE"]),
        "targets": .enumeration([
            "TARGET_TYPE_UNKNOWN", "TARGET_TYPE_FILE", "TARGET_TYPE_EXTENSION_RANGE", "TARGET_TYPE_MESSAGE",
            "TARGET_TYPE_FIELD", "TARGET_TYPE_ONEOF", "TARGET_TYPE_ENUM", "TARGET_TYPE_ENUM_ENTRY",
            "TARGET_TYPE_SERVICE", "TARGET_TYPE_METHOD",
        ]),
        // Pseudo-options the parser turns into descriptor fields.
        "json_name": .string, "default": .any,
    ]
}
