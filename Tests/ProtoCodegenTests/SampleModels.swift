import ProtoCodegen

/// Hand-built models of small schemas, with the .proto text they stand for so descriptor tests can compare
/// against protoc.
enum SampleModels {
    /// The .proto source `ledger()` models.
    static let ledgerSource = """
        syntax = "proto3";
        package demo.v1;
        option go_package = "example.com/demo";
        option java_multiple_files = true;

        message Grant {
          string grantee = 1;
          double weight = 2;
          Effect effect = 3;
          optional string note = 4;
          Scope scope = 5;
          repeated int32 codes = 6;
          repeated int32 legacy_codes = 7 [packed = false];
          repeated string tags = 8;
          map<string, int32> labels = 9;
          oneof target { string record_id = 10; Scope scope_override = 11; }
          int64 issued_at = 12 [deprecated = true];
          optional Effect fallback = 13;
          reserved 20, 30 to 40;
          reserved "old_name";
        }
        message Scope { repeated string categories = 1; map<int64, Grant> grants = 2; }
        message Node {
          Node parent = 1;
          repeated Node children = 2;
          oneof payload { Node link = 3; bytes data = 4; }
        }
        message Empty {}
        enum Effect {
          option allow_alias = true;
          EFFECT_UNSPECIFIED = 0;
          EFFECT_PERMIT = 1;
          EFFECT_DENY = 2;
          EFFECT_ALLOW = 1;
          reserved 10 to 12;
          reserved "EFFECT_MAYBE";
        }
        service Ledger {
          rpc Issue(Grant) returns (Empty);
          rpc AuditStream(Empty) returns (stream Grant);
          rpc Upload(stream Node) returns (Empty);
          rpc Chat(stream Grant) returns (stream Grant);
        }

        """

    /// The model of `ledgerSource`, as the resolver would produce it.
    static func ledger() -> ProtoModel {
        var b = ModelBuilder()
        let effect = FieldType.enumeration("demo.v1.Effect")
        let scopeType = FieldType.message("demo.v1.Scope")

        let labelsEntry = b.mapEntry(in: "demo.v1.Grant", field: "labels", key: .string, value: .scalar(.int32))
        let grant = MessageType(
            name: "Grant", fullName: "demo.v1.Grant",
            fields: [
                b.field("grantee", 1, .scalar(.string)),
                b.field("weight", 2, .scalar(.double)),
                b.field("effect", 3, effect),
                b.field("note", 4, .scalar(.string), optional: true),
                b.field("scope", 5, scopeType),
                b.field("codes", 6, .scalar(.int32), repeated: true),
                b.field("legacy_codes", 7, .scalar(.int32), repeated: true, packed: false),
                b.field("tags", 8, .scalar(.string), repeated: true),
                b.field("labels", 9, .map(key: .string, value: .scalar(.int32), entry: labelsEntry.fullName)),
                b.field("record_id", 10, .scalar(.string), oneof: 0),
                b.field("scope_override", 11, scopeType, oneof: 0),
                b.field("issued_at", 12, .scalar(.int64), deprecated: true),
                b.field("fallback", 13, effect, optional: true),
            ],
            oneofs: [Oneof(name: "target")], nestedMessages: [labelsEntry], reservedRanges: [20...20, 30...40],
            reservedNames: ["old_name"], location: b.location())

        let grantsEntry = b.mapEntry(in: "demo.v1.Scope", field: "grants", key: .int64, value: .message("demo.v1.Grant"))
        let scope = MessageType(
            name: "Scope", fullName: "demo.v1.Scope",
            fields: [
                b.field("categories", 1, .scalar(.string), repeated: true),
                b.field("grants", 2, .map(key: .int64, value: .message("demo.v1.Grant"), entry: grantsEntry.fullName)),
            ],
            nestedMessages: [grantsEntry], location: b.location())

        let nodeType = FieldType.message("demo.v1.Node")
        let node = MessageType(
            name: "Node", fullName: "demo.v1.Node",
            fields: [
                b.field("parent", 1, nodeType),
                b.field("children", 2, nodeType, repeated: true),
                b.field("link", 3, nodeType, oneof: 0),
                b.field("data", 4, .scalar(.bytes), oneof: 0),
            ],
            oneofs: [Oneof(name: "payload")], location: b.location())
        let empty = MessageType(name: "Empty", fullName: "demo.v1.Empty", location: b.location())

        let effectEnum = EnumType(
            name: "Effect", fullName: "demo.v1.Effect",
            values: [
                b.value("EFFECT_UNSPECIFIED", 0), b.value("EFFECT_PERMIT", 1), b.value("EFFECT_DENY", 2),
                b.value("EFFECT_ALLOW", 1),
            ],
            allowAlias: true, reservedRanges: [10...12], reservedNames: ["EFFECT_MAYBE"], location: b.location())

        func method(_ name: String, _ input: String, _ output: String, client: Bool, server: Bool) -> Method {
            Method(
                name: name, inputType: "demo.v1.\(input)", outputType: "demo.v1.\(output)", clientStreaming: client,
                serverStreaming: server, location: SourceLocation(file: "demo/v1/sample.proto", line: 100, column: 1))
        }
        let service = Service(
            name: "Ledger", fullName: "demo.v1.Ledger",
            methods: [
                method("Issue", "Grant", "Empty", client: false, server: false),
                method("AuditStream", "Empty", "Grant", client: false, server: true),
                method("Upload", "Node", "Empty", client: true, server: false),
                method("Chat", "Grant", "Grant", client: true, server: true),
            ],
            location: b.location())

        let file = ProtoFile(
            path: "demo/v1/sample.proto", package: "demo.v1",
            options: [
                FileOption(name: "go_package", value: "example.com/demo", isString: true),
                FileOption(name: "java_multiple_files", value: "true", isString: false),
            ],
            messages: [grant, scope, node, empty], enums: [effectEnum], services: [service])
        return ProtoModel(files: [file], filesToGenerate: [file.path])
    }

    /// A single-file model with one message holding `fields` (and optional oneofs and nested types).
    static func message(
        _ name: String = "Sample", package: String = "demo.v1", options: [FileOption] = [], oneofs: [Oneof] = [],
        nestedMessages: [MessageType] = [], nestedEnums: [EnumType] = [], comments: Comments = .none,
        fields: (inout ModelBuilder) -> [Field]
    ) -> ProtoModel {
        var b = ModelBuilder(package: package)
        let message = MessageType(
            name: name, fullName: b.qualified(name), fields: fields(&b), oneofs: oneofs,
            nestedMessages: nestedMessages, nestedEnums: nestedEnums, comments: comments, location: b.location())
        let file = ProtoFile(path: "demo/v1/sample.proto", package: package, options: options, messages: [message])
        return ProtoModel(files: [file], filesToGenerate: [file.path])
    }
}
