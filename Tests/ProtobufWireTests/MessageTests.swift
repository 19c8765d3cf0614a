import ProtobufWire
import Testing

/// Whole messages: round trips, merge semantics and unknown-field preservation.
@Suite("Messages")
struct MessageTests {
    /// A note with every field set.
    static var fullNote: Note {
        var note = Note()
        note.text = "Allergy: penicillin"
        note.tags = [3, 270, -1]
        note.author = Clinician(name: "Dr. Okafor", licence: 1_234_567, nickname: "")
        note.labels = ["ward": 4, "bed": 12, "": 0]
        note.effect = .permit
        return note
    }

    @Test("given a note with every field set, when it is encoded and decoded, then it comes back equal")
    func roundTrip() throws {
        let note = Self.fullNote
        let bytes = note.serializedBytes()
        let decoded = try Note(serializedBytes: bytes)
        #expect(decoded == note)
        #expect(decoded.serializedBytes() == bytes)
    }

    @Test("decoding from an UnsafeRawBufferPointer gives the same message as from an array")
    func decodeFromRawBuffer() throws {
        let bytes = Self.fullNote.serializedBytes()
        let decoded = try bytes.withUnsafeBytes { try Note(serializedBytes: $0) }
        #expect(decoded == Self.fullNote)
    }

    @Test("the empty message encodes to no bytes and decodes from none")
    func emptyMessage() throws {
        #expect(Note().serializedBytes() == [])
        #expect(try Note(serializedBytes: []) == Note())
    }

    @Test("fields are written in field-number order, map entries sorted by key, unknown fields last")
    func fieldOrder() {
        var note = Note()
        note.effect = .deny
        note.labels = ["b": 2, "a": 1]
        note.text = "t"
        note.unknownFields = UnknownFields(bytes: hex("48 01"))
        #expect(note.serializedBytes() == hex("0a 01 74  22 05 0a 01 61 10 01  22 05 0a 01 62 10 02  28 02  48 01"))
    }

    @Test("a singular message field that arrives twice is merged, not replaced")
    func singularMessageMerges() throws {
        // author { name: "A" }, then author { licence: 7 }: the result has both.
        let bytes = hex("1a 03 0a 01 41  1a 02 10 07")
        let note = try Note(serializedBytes: bytes)
        #expect(note.author == Clinician(name: "A", licence: 7))
    }

    @Test("a scalar that arrives twice keeps the last value; repeated fields append")
    func lastScalarWinsRepeatedAppends() throws {
        let bytes = hex("0a 01 61  10 01  0a 01 62  12 02 02 03")
        let note = try Note(serializedBytes: bytes)
        #expect(note.text == "b")
        #expect(note.tags == [1, 2, 3])
    }

    @Test("merge(serializedBytes:) merges into an existing message")
    func mergeIntoExisting() throws {
        var note = Note()
        note.text = "kept"
        note.tags = [1]
        note.author = Clinician(name: "A")
        try note.merge(serializedBytes: hex("12 01 02  1a 02 10 07"))
        #expect(note.text == "kept")
        #expect(note.tags == [1, 2])
        #expect(note.author == Clinician(name: "A", licence: 7))
    }

    @Test("a map key that repeats keeps the last value")
    func mapLastValueWins() throws {
        let bytes = hex("22 05 0a 01 6b 10 01  22 05 0a 01 6b 10 02")
        #expect(try Note(serializedBytes: bytes).labels == ["k": 2])
    }

    @Test("a map entry missing its key or value uses the defaults")
    func mapEntryDefaults() throws {
        #expect(try Note(serializedBytes: hex("22 02 10 05")).labels == ["": 5])
        #expect(try Note(serializedBytes: hex("22 03 0a 01 6b")).labels == ["k": 0])
    }

    @Test(
        "given fields this schema doesn't know, of every wire type and including nested groups, they are kept verbatim and re-emitted byte for byte"
    )
    func unknownFieldsPreserved() throws {
        let known = hex("0a 02 68 69")  // text = "hi"
        let unknown = hex(
            """
            48 96 01
            55 01 02 03 04
            59 01 02 03 04 05 06 07 08
            62 03 61 62 63
            6b 08 01 73 08 02 74 6c
            f8 ff ff ff 0f 2a
            """)
        // field 9 varint, 10 fixed32, 11 fixed64, 12 bytes, 13 group holding a varint and a nested group 14,
        // and field 536870911 as a varint.
        let note = try Note(serializedBytes: known + unknown)
        #expect(note.text == "hi")
        #expect(note.unknownFields.bytes == unknown)
        #expect(note.serializedBytes() == known + unknown)
    }

    @Test("unknown fields inside a nested message stay with that message")
    func nestedUnknownFields() throws {
        let bytes = hex("1a 07 0a 01 41 50 01 58 02")
        let note = try Note(serializedBytes: bytes)
        #expect(note.author?.name == "A")
        #expect(note.author?.unknownFields.bytes == hex("50 01 58 02"))
        #expect(note.unknownFields.isEmpty)
        #expect(note.serializedBytes() == bytes)
    }

    @Test("unknown fields interleaved with known ones are re-emitted after them, in arrival order")
    func interleavedUnknownFields() throws {
        let bytes = hex("48 01  0a 01 61  50 02")
        let note = try Note(serializedBytes: bytes)
        #expect(note.unknownFields.bytes == hex("48 01 50 02"))
        #expect(note.serializedBytes() == hex("0a 01 61 48 01 50 02"))
    }

    @Test("each occurrence of a repeated message field appends one element, in order")
    func repeatedMessages() throws {
        var roster = Roster()
        roster.clinicians = [Clinician(name: "A"), Clinician(), Clinician(name: "C", licence: -3)]
        roster.wards = [2: "oncology", -1: "", 7: "ER"]
        let bytes = roster.serializedBytes()
        #expect(Array(bytes.prefix(5)) == hex("0a 03 0a 01 41"))
        #expect(Array(bytes[5..<7]) == hex("0a 00"))
        let decoded = try Roster(serializedBytes: bytes)
        #expect(decoded.clinicians == roster.clinicians)
        #expect(decoded.wards == roster.wards)
        #expect(decoded.serializedBytes() == bytes)
    }

    @Test("a recursive message boxes its child and compares by value")
    func recursion() throws {
        let tree = Tree.chain(depth: 5)
        let decoded = try Tree(serializedBytes: tree.serializedBytes())
        #expect(decoded == tree)
        #expect(decoded.depth == 5)
        #expect(decoded.hashValue == tree.hashValue)
    }
}
