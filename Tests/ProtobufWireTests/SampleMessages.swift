import ProtobufWire

// Hand-written conformances shaped like generated code, for message-level tests:
//
//   package test;
//   enum Effect { EFFECT_UNSPECIFIED = 0; EFFECT_PERMIT = 1; EFFECT_DENY = 2; }
//   message Clinician { string name = 1; int64 licence = 2; optional string nickname = 3; }
//   message Note { string text = 1; repeated int32 tags = 2; Clinician author = 3; map<string, int32> labels = 4;
//                  Effect effect = 5; }
//   message Tree { Tree child = 1; int32 value = 2; }

/// An open proto3 enum.
enum Effect: ProtoEnum, CaseIterable {
    case unspecified
    case permit
    case deny
    case UNRECOGNIZED(Int32)

    static let allCases: [Effect] = [.unspecified, .permit, .deny]

    init(rawValue: Int32) {
        switch rawValue {
        case 0: self = .unspecified
        case 1: self = .permit
        case 2: self = .deny
        default: self = .UNRECOGNIZED(rawValue)
        }
    }

    var rawValue: Int32 {
        switch self {
        case .unspecified: 0
        case .permit: 1
        case .deny: 2
        case .UNRECOGNIZED(let number): number
        }
    }
}

/// A small message with a string, an int64 and a proto3 `optional` string.
struct Clinician: ProtoMessage {
    static let protoMessageName = "test.Clinician"
    var name: String = ""
    var licence: Int64 = 0
    var nickname: String? = nil
    var unknownFields = UnknownFields()

    init() {}

    init(name: String, licence: Int64 = 0, nickname: String? = nil) {
        self.name = name
        self.licence = licence
        self.nickname = nickname
    }

    func encodeFields(to writer: inout ProtoWriter) {
        if !name.isEmpty { writer.writeString(name, field: 1) }
        if licence != 0 { writer.writeInt64(licence, field: 2) }
        if let nickname { writer.writeString(nickname, field: 3) }
        writer.writeUnknown(unknownFields)
    }

    mutating func decodeFields(from reader: inout ProtoReader) throws(ProtoDecodingError) {
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1: name = try reader.readString(tag, field: "test.Clinician.name")
            case 2: licence = try reader.readInt64(tag, field: "test.Clinician.licence")
            case 3: nickname = try reader.readString(tag, field: "test.Clinician.nickname")
            default: try reader.skipField(tag, into: &unknownFields)
            }
        }
    }
}

/// A message with a string, a packed repeated int32, a singular message, a map and an enum.
struct Note: ProtoMessage {
    static let protoMessageName = "test.Note"
    var text: String = ""
    var tags: [Int32] = []
    var author: Clinician? = nil
    var labels: [String: Int32] = [:]
    var effect: Effect = .unspecified
    var unknownFields = UnknownFields()

    init() {}

    func encodeFields(to writer: inout ProtoWriter) {
        if !text.isEmpty { writer.writeString(text, field: 1) }
        writer.writePackedInt32(tags, field: 2)
        if let author { writer.writeMessage(author, field: 3) }
        for (key, value) in labels.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            writer.writeLengthDelimited(field: 4) { entry in
                entry.writeString(key, field: 1)
                entry.writeInt32(value, field: 2)
            }
        }
        if effect != .unspecified { writer.writeEnum(effect, field: 5) }
        writer.writeUnknown(unknownFields)
    }

    mutating func decodeFields(from reader: inout ProtoReader) throws(ProtoDecodingError) {
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1: text = try reader.readString(tag, field: "test.Note.text")
            case 2: try reader.readRepeatedInt32(tag, into: &tags, field: "test.Note.tags")
            case 3: try reader.readMessage(tag, into: &author, field: "test.Note.author")
            case 4:
                var key = ""
                var value: Int32 = 0
                try reader.readLengthDelimited(tag, field: "test.Note.labels") { (entry) throws(ProtoDecodingError) in
                    while let entryTag = try entry.nextTag() {
                        switch entryTag.fieldNumber {
                        case 1: key = try entry.readString(entryTag, field: "test.Note.LabelsEntry.key")
                        case 2: value = try entry.readInt32(entryTag, field: "test.Note.LabelsEntry.value")
                        default: try entry.skipField(entryTag)
                        }
                    }
                }
                labels[key] = value
            case 5: effect = try reader.readEnum(tag, field: "test.Note.effect")
            default: try reader.skipField(tag, into: &unknownFields)
            }
        }
    }
}

/// A recursive message: its child is boxed, as generated code does for cycles.
struct Tree: ProtoMessage {
    static let protoMessageName = "test.Tree"
    var child: ProtoBox<Tree>? = nil
    var value: Int32 = 0
    var unknownFields = UnknownFields()

    init() {}

    /// A chain of `depth` nested trees below this one.
    static func chain(depth: Int) -> Tree {
        var tree = Tree()
        tree.value = 1
        for _ in 0..<depth {
            var parent = Tree()
            parent.child = ProtoBox(tree)
            tree = parent
        }
        return tree
    }

    /// How many children are nested below this tree.
    var depth: Int {
        var count = 0
        var node = self
        while let next = node.child?.value {
            count += 1
            node = next
        }
        return count
    }

    func encodeFields(to writer: inout ProtoWriter) {
        if let child { writer.writeMessage(child.value, field: 1) }
        if value != 0 { writer.writeInt32(value, field: 2) }
        writer.writeUnknown(unknownFields)
    }

    mutating func decodeFields(from reader: inout ProtoReader) throws(ProtoDecodingError) {
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1:
                var node = child?.value
                try reader.readMessage(tag, into: &node, field: "test.Tree.child")
                child = node.map { ProtoBox($0) }
            case 2: value = try reader.readInt32(tag, field: "test.Tree.value")
            default: try reader.skipField(tag, into: &unknownFields)
            }
        }
    }
}

/// A message that is nothing but its unknown fields: lets tests choose a body's exact bytes.
struct Opaque: ProtoMessage {
    static let protoMessageName = "test.Opaque"
    var unknownFields = UnknownFields()

    init() {}

    init(body: [UInt8]) {
        unknownFields = UnknownFields(bytes: body)
    }

    func encodeFields(to writer: inout ProtoWriter) {
        writer.writeUnknown(unknownFields)
    }

    mutating func decodeFields(from reader: inout ProtoReader) throws(ProtoDecodingError) {
        while let tag = try reader.nextTag() {
            try reader.skipField(tag, into: &unknownFields)
        }
    }
}

/// A repeated message field and a map<int32, string>, decoded the way generated code does.
///
///   message Roster { repeated Clinician clinicians = 1; map<int32, string> wards = 2; }
struct Roster: ProtoMessage {
    static let protoMessageName = "test.Roster"
    var clinicians: [Clinician] = []
    var wards: [Int32: String] = [:]
    var unknownFields = UnknownFields()

    init() {}

    func encodeFields(to writer: inout ProtoWriter) {
        for clinician in clinicians { writer.writeMessage(clinician, field: 1) }
        for (key, value) in wards.sorted(by: { $0.key < $1.key }) {
            writer.writeLengthDelimited(field: 2) { entry in
                entry.writeInt32(key, field: 1)
                entry.writeString(value, field: 2)
            }
        }
        writer.writeUnknown(unknownFields)
    }

    mutating func decodeFields(from reader: inout ProtoReader) throws(ProtoDecodingError) {
        while let tag = try reader.nextTag() {
            switch tag.fieldNumber {
            case 1: try reader.readRepeatedMessage(tag, into: &clinicians, field: "test.Roster.clinicians")
            case 2:
                var key: Int32 = 0
                var value = ""
                // Swift 6.3 infers `any Error` for an unannotated closure, so the typed throws is spelled out.
                try reader.readLengthDelimited(tag, field: "test.Roster.wards") { (entry) throws(ProtoDecodingError) in
                    while let entryTag = try entry.nextTag() {
                        switch entryTag.fieldNumber {
                        case 1: key = try entry.readInt32(entryTag, field: "test.Roster.WardsEntry.key")
                        case 2: value = try entry.readString(entryTag, field: "test.Roster.WardsEntry.value")
                        default: try entry.skipField(entryTag)
                        }
                    }
                }
                wards[key] = value
            default: try reader.skipField(tag, into: &unknownFields)
            }
        }
    }
}
