import HealthLedgerProtos
import ProtobufWire
import Testing
import WireFixtures

// Behaviour of generated message types that users rely on: exact bytes, presence, open enums,
// oneofs, maps, recursion, unknown fields, and errors that name the field.

/// Hex of bytes, for readable expectations.
private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
        .joined(separator: " ")
}

@Suite("Generated messages")
struct GeneratedMessageTests {
    @Test("a message with every field at its default encodes to nothing")
    func defaultsEncodeToNothing() {
        #expect(Healthledger_Fixtures_V1_Scalars().serializedBytes().isEmpty)
        #expect(Healthledger_V1_Grant().serializedBytes().isEmpty)
    }

    @Test("scalars encode in field-number order with the exact wire bytes")
    func scalarBytes() {
        var scalars = Healthledger_Fixtures_V1_Scalars()
        scalars.int32Value = -1  // field 5: ten-byte sign-extended varint
        scalars.sint32Value = -1  // field 14: zigzag 1
        scalars.stringValue = "hi"  // field 9
        scalars.floatValue = -0.0  // field 2: written, its bit pattern is not zero
        #expect(
            hex(scalars.serializedBytes())
                == "15 00 00 00 80 28 ff ff ff ff ff ff ff ff ff 01 4a 02 68 69 70 01")
    }

    @Test("proto3 optional fields are sent when set, even to zero, and absent stays absent")
    func explicitPresence() throws {
        var message = Healthledger_Fixtures_V1_OptionalScalars()
        message.int32Value = 0
        #expect(hex(message.serializedBytes()) == "08 00")
        let decoded = try Healthledger_Fixtures_V1_OptionalScalars(serializedBytes: message.serializedBytes())
        #expect(decoded.int32Value == 0)
        #expect(decoded.uint64Value == nil)
    }

    @Test("an enum number this schema doesn't know survives a round trip")
    func openEnums() throws {
        let bytes: [UInt8] = [0x80, 0x01, 0x63]  // levelValue (16) = 99
        let decoded = try Healthledger_Fixtures_V1_Scalars(serializedBytes: bytes)
        #expect(decoded.levelValue == .UNRECOGNIZED(99))
        #expect(decoded.serializedBytes() == bytes)
        #expect(Healthledger_Fixtures_V1_Level.minor == .low)
    }

    @Test("a transaction body with a grant decodes to the same value it was built from")
    func oneofRoundTrip() throws {
        var grant = Healthledger_V1_Grant()
        grant.patient = "hl1patient"
        grant.grantee = "hl1clinician"
        grant.actions = [.read, .write]
        grant.categories = [.labs, .mentalHealth]
        grant.validUntilUnixMs = 1_800_000_000_000
        grant.effect = .permit
        var body = Healthledger_V1_TransactionBody()
        body.chainId = "test"
        body.sequence = 1
        body.operation = .grant(grant)
        let decoded = try Healthledger_V1_TransactionBody(serializedBytes: body.serializedBytes())
        #expect(decoded == body)
        guard case .grant(let decodedGrant)? = decoded.operation else {
            Issue.record("the operation is not a grant")
            return
        }
        #expect(decodedGrant.validUntilUnixMs == 1_800_000_000_000)
    }

    @Test("the last oneof member on the wire wins")
    func oneofLastWins() throws {
        var first = Healthledger_Fixtures_V1_TreeNode()
        first.link = .leafName("first")
        var second = Healthledger_Fixtures_V1_TreeNode()
        second.link = .alternate(Healthledger_Fixtures_V1_TreeNode())
        let decoded = try Healthledger_Fixtures_V1_TreeNode(
            serializedBytes: first.serializedBytes() + second.serializedBytes())
        #expect(decoded.link == .alternate(Healthledger_Fixtures_V1_TreeNode()))
    }

    @Test("map entries are written sorted by key, so equal maps give equal bytes")
    func deterministicMaps() {
        var a = Healthledger_Fixtures_V1_Maps()
        var b = Healthledger_Fixtures_V1_Maps()
        for key in ["zeta", "alpha", "mu", "é", "B"] { a.stringToString[key] = key.uppercased() }
        for key in ["B", "é", "mu", "alpha", "zeta"] { b.stringToString[key] = key.uppercased() }
        #expect(a.serializedBytes() == b.serializedBytes())
        var ints = Healthledger_Fixtures_V1_Maps()
        ints.sint32ToFloat = [5: 1, -3: 2, 0: 3]
        let decoded = try? Healthledger_Fixtures_V1_Maps(serializedBytes: ints.serializedBytes())
        #expect(decoded == ints)
    }

    @Test("a recursive tree nests as deep as the decoder allows and no deeper")
    func recursion() throws {
        var node = Healthledger_Fixtures_V1_TreeNode()
        node.label = "leaf"
        for depth in 1..<100 {
            var parent = Healthledger_Fixtures_V1_TreeNode()
            parent.label = "level \(depth)"
            parent.child = node
            node = parent
        }
        let bytes = node.serializedBytes()
        #expect(try Healthledger_Fixtures_V1_TreeNode(serializedBytes: bytes) == node)
        var deeper = Healthledger_Fixtures_V1_TreeNode()
        deeper.child = node
        deeper.child?.child?.label = "changed"
        #expect(node.child?.label == "level 98")  // value semantics through the box
        #expect(throws: ProtoDecodingError.self) {
            var tooDeep = Healthledger_Fixtures_V1_TreeNode()
            tooDeep.child = deeper
            _ = try Healthledger_Fixtures_V1_TreeNode(serializedBytes: tooDeep.serializedBytes())
        }
    }

    @Test("fields a newer schema added are kept and re-sent unchanged")
    func unknownFieldsSurvive() throws {
        var newer = Healthledger_Fixtures_V1_Scalars()
        newer.stringValue = "kept"
        newer.sfixed64Value = -42
        let older = try Healthledger_Fixtures_V1_Nothing(serializedBytes: newer.serializedBytes())
        #expect(!older.unknownFields.isEmpty)
        #expect(older.serializedBytes() == newer.serializedBytes())
    }

    @Test("a string field that is not UTF-8 is refused naming the field")
    func invalidUTF8NamesTheField() {
        let bytes: [UInt8] = [0x12, 0x02, 0xc3, 0x28]  // grantee (2) = invalid UTF-8
        do {
            _ = try Healthledger_V1_Grant(serializedBytes: bytes)
            Issue.record("invalid UTF-8 was accepted")
        } catch {
            #expect(error.kind == .invalidUTF8)
            #expect(error.field == "healthledger.v1.Grant.grantee")
            #expect(error.description.contains("healthledger.v1.Grant.grantee"))
        }
    }

    @Test("a known field with the wrong wire type is refused naming the field")
    func wrongWireTypeNamesTheField() {
        let emptyKeyID: [UInt8] = [0x1a, 0x00]  // key_id (3), length-delimited, empty
        #expect(throws: Never.self) { _ = try Healthledger_V1_SignedTransaction(serializedBytes: emptyKeyID) }
        do {
            _ = try Healthledger_V1_SignedTransaction(serializedBytes: [0x18, 0x01])  // key_id as a varint
            Issue.record("a varint was accepted for a string field")
        } catch {
            #expect(error.kind == .wrongWireType)
            #expect(error.field == "healthledger.v1.SignedTransaction.key_id")
        }
    }

    @Test("Swift keywords as field names are usable and encode under their proto numbers")
    func keywordFields() throws {
        var message = Healthledger_Fixtures_V1_Keywords()
        message.default = "d"
        message.class = "c"
        message.case = .switch("s")
        let decoded = try Healthledger_Fixtures_V1_Keywords(serializedBytes: message.serializedBytes())
        #expect(decoded == message)
    }

    @Test("every generated file carries its descriptor and message types")
    func fileDescriptors() {
        let descriptor = HealthledgerV1TransactionProtoFile.descriptor
        #expect(descriptor.path == "healthledger/v1/transaction.proto")
        #expect(!descriptor.serializedDescriptor.isEmpty)
        #expect(descriptor.messageTypes.contains { $0.protoMessageName == "healthledger.v1.TransactionBody" })
    }
}
