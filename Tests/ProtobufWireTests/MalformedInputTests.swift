import ProtobufWire
import Testing

/// Garbage in: decoding must fail with a precise error, never crash, and never allocate more than
/// the input justifies.
@Suite("Malformed input")
struct MalformedInputTests {
    @Test("every prefix of a valid encoding either decodes (when cut between fields) or fails as truncated")
    func everyPrefix() throws {
        // Record where each top-level field ends, so the test knows which cuts are clean.
        var writer = ProtoWriter()
        var boundaries: Set<Int> = [0]
        let note = MessageTests.fullNote
        writer.writeString(note.text, field: 1)
        boundaries.insert(writer.byteCount)
        writer.writePackedInt32(note.tags, field: 2)
        boundaries.insert(writer.byteCount)
        writer.writeMessage(note.author!, field: 3)
        boundaries.insert(writer.byteCount)
        for (key, value) in note.labels.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            writer.writeLengthDelimited(field: 4) { entry in
                entry.writeString(key, field: 1)
                entry.writeInt32(value, field: 2)
            }
            boundaries.insert(writer.byteCount)
        }
        writer.writeEnum(note.effect, field: 5)
        let bytes = writer.bytes
        #expect(bytes == note.serializedBytes())

        for cut in 0..<bytes.count {
            let prefix = Array(bytes[0..<cut])
            let error = decodingError(Note.self, prefix)
            if boundaries.contains(cut) {
                #expect(error == nil, "prefix of \(cut) bytes ends between fields")
            } else {
                #expect(
                    error?.kind == .truncated || error?.kind == .lengthExceedsInput,
                    "prefix of \(cut) bytes: \(String(describing: error))")
                #expect((error?.offset ?? .max) <= cut, "the offset points into the input or at its end")
            }
        }
    }

    @Test("a varint of 11 bytes is malformed")
    func overlongVarint() {
        let error = decodingError(Note.self, hex("10 ff ff ff ff ff ff ff ff ff ff 01"))
        #expect(
            error
                == ProtoDecodingError(
                    kind: .malformedVarint, field: "test.Note.tags", offset: 1, problem: "varint is longer than 64 bits"
                ))
    }

    @Test("a 10-byte varint whose last byte is more than 1 overflows 64 bits and is malformed")
    func tenthByteTooLarge() {
        #expect(decodingError(Note.self, hex("10 ff ff ff ff ff ff ff ff ff 02"))?.kind == .malformedVarint)
        // ...while 10th byte 1 is the largest legal varint.
        #expect(decodingError(Note.self, hex("10 ff ff ff ff ff ff ff ff ff 01")) == nil)
    }

    @Test("an over-long varint in a tag is malformed, with no field named")
    func overlongTag() {
        let error = decodingError(Note.self, hex("ff ff ff ff ff ff ff ff ff ff 01"))
        #expect(error?.kind == .malformedVarint)
        #expect(error?.field == nil)
        #expect(error?.offset == 0)
    }

    @Test("a key padded past 5 bytes is malformed, as upb reads it; 5 bytes are fine")
    func paddedTag() {
        // Field 278528, varint: the same key in 5 and in 6 bytes (a trailing 0x80 0x00 pad).
        #expect(decodingError(Note.self, hex("80 80 88 81 00  01")) == nil)
        let error = decodingError(Note.self, hex("80 80 88 81 80 00  01"))
        #expect(
            error
                == ProtoDecodingError(
                    kind: .malformedVarint, field: nil, offset: 0, problem: "field key is longer than 5 bytes"))
    }

    @Test("a known field arriving with another wire type fails naming the field")
    func wrongWireType() {
        let error = decodingError(Note.self, hex("0a 01 61  08 05"))  // text = "a", then text as a varint
        #expect(error?.kind == .wrongWireType)
        #expect(error?.field == "test.Note.text")
        #expect(error?.offset == 3)
        #expect(
            error?.description == "test.Note.text: field 1 has wire type varint but expected lengthDelimited at byte 3")
    }

    @Test("wire types 6 and 7 don't exist")
    func invalidWireTypes() {
        #expect(
            decodingError(Note.self, hex("0f 00"))
                == ProtoDecodingError(kind: .invalidWireType, offset: 0, problem: "invalid wire type 7 for field 1"))
        #expect(decodingError(Note.self, hex("10 01 0e"))?.kind == .invalidWireType)
        #expect(decodingError(Note.self, hex("10 01 0e"))?.offset == 2)
    }

    @Test("field number 0 and numbers above 2^29-1 are invalid")
    func invalidFieldNumbers() {
        #expect(decodingError(Note.self, hex("00 01"))?.kind == .invalidFieldNumber)
        #expect(decodingError(Note.self, hex("02 00"))?.kind == .invalidFieldNumber)
        // (2^29) << 3 = 2^32.
        #expect(decodingError(Note.self, hex("80 80 80 80 10 01"))?.kind == .invalidFieldNumber)
    }

    @Test("a stray END_GROUP at message level is unmatched")
    func strayEndGroup() {
        let error = decodingError(Note.self, hex("10 01 4c"))
        #expect(error?.kind == .unmatchedEndGroup)
        #expect(error?.offset == 2)
    }

    @Test("a group closed with another field number is unmatched; an unclosed group is truncated")
    func brokenGroups() {
        #expect(decodingError(Note.self, hex("4b 08 01 54"))?.kind == .unmatchedEndGroup)
        #expect(decodingError(Note.self, hex("4b 08 01 54"))?.offset == 3)
        #expect(decodingError(Note.self, hex("4b 08 01"))?.kind == .truncated)
        #expect(decodingError(Note.self, hex("4b 5b 5c"))?.kind == .truncated)
    }

    @Test("a known field arriving as a group is a wrong wire type")
    func knownFieldAsGroup() {
        let error = decodingError(Note.self, hex("0b 0c"))
        #expect(error?.kind == .wrongWireType)
        #expect(error?.field == "test.Note.text")
    }

    @Test("given 200 nested messages, decoding stops at the depth limit instead of overflowing the stack")
    func depthBomb() {
        var bomb: [UInt8] = []
        for _ in 0..<200 {
            bomb = referenceLengthDelimited(field: 1, bomb)
        }
        let error = decodingError(Tree.self, bomb)
        #expect(error?.kind == .nestingTooDeep)
        #expect(error?.field == "test.Tree.child")
    }

    @Test("exactly maxDepth nested messages decode; one more does not")
    func depthBoundary() {
        #expect(decodingError(Tree.self, Tree.chain(depth: 100).serializedBytes()) == nil)
        #expect(decodingError(Tree.self, Tree.chain(depth: 101).serializedBytes())?.kind == .nestingTooDeep)
        let shallow = DecodingOptions(maxDepth: 3)
        #expect(decodingError(Tree.self, Tree.chain(depth: 3).serializedBytes(), options: shallow) == nil)
        #expect(
            decodingError(Tree.self, Tree.chain(depth: 4).serializedBytes(), options: shallow)?.kind == .nestingTooDeep)
    }

    @Test("map entries count toward the depth limit like messages")
    func mapEntriesCountTowardDepth() {
        let entry = hex("22 05 0a 01 6b 10 01")
        #expect(decodingError(Note.self, entry, options: DecodingOptions(maxDepth: 1)) == nil)
        #expect(decodingError(Note.self, entry, options: DecodingOptions(maxDepth: 0))?.kind == .nestingTooDeep)
    }

    @Test("given 200 nested unknown groups, skipping them stops at the depth limit")
    func groupBomb() {
        let bomb = [UInt8](repeating: 0x4b, count: 200) + [UInt8](repeating: 0x4c, count: 200)
        #expect(decodingError(Note.self, bomb)?.kind == .nestingTooDeep)
        let fits = [UInt8](repeating: 0x4b, count: 100) + [UInt8](repeating: 0x4c, count: 100)
        #expect(decodingError(Note.self, fits) == nil)
    }

    @Test("a 4 GiB length prefix on a tiny input fails at once, before anything is allocated")
    func hugeLengthPrefix() {
        let input = hex("0a 80 80 80 80 10 61 62 63")
        let clock = ContinuousClock()
        var error: ProtoDecodingError?
        let elapsed = clock.measure { error = decodingError(Note.self, input) }
        #expect(error?.kind == .lengthExceedsInput)
        #expect(error?.field == "test.Note.text")
        #expect(error?.offset == 1)
        #expect(elapsed < .milliseconds(100))
    }

    @Test("the error description is one readable line naming field, prefix, remaining bytes and offset")
    func lengthErrorDescription() {
        // tags = [5], then text with a length of 2^32-1 and only 7 bytes after it.
        let input = hex("10 05 0a ff ff ff ff 0f 61 62 63 64 65 66 67")
        let error = decodingError(Note.self, input)
        #expect(
            error?.description
                == "test.Note.text: length prefix 4294967295 exceeds the 7 remaining bytes at byte 3")
    }

    @Test("an unknown length-delimited field longer than the input fails without naming a field")
    func unknownFieldTooLong() {
        let error = decodingError(Note.self, hex("62 05 01 02"))
        #expect(
            error
                == ProtoDecodingError(
                    kind: .lengthExceedsInput, offset: 1, problem: "length prefix 5 exceeds the 2 remaining bytes"))
    }

    @Test("a field inside a nested message can't read past that message's end, even when the input goes on")
    func nestedLimit() {
        // author has length 3 but its name claims 10 bytes; the outer input has plenty more.
        let input = hex("1a 03 0a 0a 41") + [UInt8](repeating: 0x08, count: 20)
        let error = decodingError(Note.self, input)
        #expect(error?.kind == .lengthExceedsInput)
        #expect(error?.field == "test.Clinician.name")
        #expect(error?.offset == 3)
        // A varint cut by the end of the nested message is truncated.
        let cut = decodingError(Note.self, hex("1a 02 10 96 01"))
        #expect(
            cut
                == ProtoDecodingError(
                    kind: .truncated, field: "test.Clinician.licence", offset: 3, problem: "input ends inside a varint")
        )
    }

    @Test("invalid UTF-8 in a string fails naming the field and pointing at the string's first byte")
    func invalidUTF8() {
        let error = decodingError(Note.self, hex("10 01  1a 05 0a 03 41 c3 28"))
        #expect(error?.kind == .invalidUTF8)
        #expect(error?.field == "test.Clinician.name")
        #expect(error?.offset == 6)
        // Overlong encodings and lone surrogates are invalid too.
        #expect(decodingError(Note.self, hex("0a 02 c0 af"))?.kind == .invalidUTF8)
        #expect(decodingError(Note.self, hex("0a 03 ed a0 80"))?.kind == .invalidUTF8)
    }

    @Test("a framing error inside a nested message is attributed to the enclosing field")
    func framingErrorInsideNestedMessage() {
        let error = decodingError(Note.self, hex("0a 01 61  1a 02 0f 00"))
        #expect(error?.kind == .invalidWireType)
        #expect(error?.field == "test.Note.author")
        #expect(error?.offset == 5)
    }

    @Test("fixed-width values cut short are truncated")
    func truncatedFixed() {
        var values: [Float] = []
        let error = #expect(throws: ProtoDecodingError.self) {
            try decodeFirstField(hex("0d 00 00 80")) { (r, t) throws(ProtoDecodingError) in
                try r.readRepeatedFloat(t, into: &values, field: "t.v")
            }
        }
        #expect(error?.kind == .truncated)
        #expect(error?.offset == 1)
        #expect(decodingError(Note.self, hex("51 01 02 03 04 05 06 07"))?.kind == .truncated)
    }

    @Test("thousands of random and mutated inputs never crash, and whatever decodes re-encodes stably")
    func randomInputs() throws {
        var generator = SplitMix64(seed: 0x4845_414C_5448)
        let valid = MessageTests.fullNote.serializedBytes()
        for round in 0..<20_000 {
            var input: [UInt8]
            if round % 2 == 0 {
                input = (0..<Int(generator.next() % 64)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            } else {
                input = valid
                for _ in 0..<(1 + generator.next() % 4) {
                    let index = Int(generator.next() % UInt64(input.count))
                    input[index] = UInt8(truncatingIfNeeded: generator.next())
                }
            }
            guard let note = try? Note(serializedBytes: input) else { continue }
            let reencoded = note.serializedBytes()
            #expect(try Note(serializedBytes: reencoded) == note)
        }
    }
}

/// A small deterministic generator, so the random-input test fails the same way every time.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
