import ProtobufWire
import Testing

/// The small types around the codec: boxes, errors, descriptors, unknown fields.
@Suite("Supporting types")
struct SupportingTypesTests {
    @Test("two boxes holding equal values are equal and hash alike; different values differ")
    func boxesCompareByValue() {
        let first = ProtoBox(Clinician(name: "A"))
        let second = ProtoBox(Clinician(name: "A"))
        let other = ProtoBox(Clinician(name: "B"))
        #expect(first !== second)
        #expect(first == second)
        #expect(first.hashValue == second.hashValue)
        #expect(first != other)
        #expect(Set([first, second, other]).count == 2)
    }

    @Test("an error without a field still reads as one line with its offset")
    func errorDescriptionWithoutField() {
        let error = ProtoDecodingError(kind: .invalidFieldNumber, offset: 4)
        #expect(error.description == "invalid field number at byte 4")
    }

    @Test("a file descriptor keeps what the generator gave it")
    func fileDescriptor() {
        let descriptor = ProtoFileDescriptor(
            path: "test/notes.proto", serializedDescriptor: [0x0a, 0x00], dependencies: ["test/base.proto"],
            messageTypes: [Note.self, Clinician.self])
        #expect(descriptor.path == "test/notes.proto")
        #expect(descriptor.messageTypes.map { $0.protoMessageName } == ["test.Note", "test.Clinician"])
        #expect(descriptor.dependencies == ["test/base.proto"])
    }

    @Test("unknown fields start empty")
    func unknownFieldsStartEmpty() {
        #expect(UnknownFields().isEmpty)
        #expect(!UnknownFields(bytes: [8, 1]).isEmpty)
    }

    @Test("a reader reports its offset and end as it goes")
    func readerPosition() throws {
        // A typed-throws closure passed to Array.withUnsafeBytes crashes Swift 6.3's IRGen, so the
        // reader's work returns a Result instead.
        let outcome = hex("08 01 10 02").withUnsafeBytes { buffer -> Result<[Int], ProtoDecodingError> in
            var reader = ProtoReader(buffer: buffer)
            var offsets = [reader.offset]
            do throws(ProtoDecodingError) {
                while let tag = try reader.nextTag() {
                    _ = try reader.readInt32(tag, field: "t.value")
                    offsets.append(reader.offset)
                }
                #expect(reader.isAtEnd)
                return .success(offsets)
            } catch {
                return .failure(error)
            }
        }
        #expect(try outcome.get() == [0, 2, 4])
    }
}
