import Foundation
import ProtoCodegen
import ProtobufWire
import Testing

/// Our hand-serialized FileDescriptorProtos are the ones protoc writes.
@Suite struct DescriptorBuilderTests {
    @Test func reservedMessageRangesEndExclusivelyAndEnumRangesInclusively() throws {
        let model = SampleModels.ledger()
        let file = try #require(model.file("demo/v1/sample.proto"))
        let descriptor = try DescriptorFields(DescriptorBuilder.fileDescriptorProto(for: file, in: model))

        let grant = try #require(descriptor.messages(4).first)
        // `reserved 30 to 40;` is stored as [30, 41).
        let ranges = try grant.messages(9).map { [$0.varints(1).first, $0.varints(2).first] }
        #expect(ranges == [[20, 21], [30, 41]])

        let effect = try #require(descriptor.messages(5).first)
        let enumRanges = try effect.messages(4).map { [$0.varints(1).first, $0.varints(2).first] }
        #expect(enumRanges == [[10, 12]])
    }

    @Test func aProto3OptionalFieldGetsASyntheticOneofAfterTheRealOnes() throws {
        let model = SampleModels.ledger()
        let file = try #require(model.file("demo/v1/sample.proto"))
        let grant = try #require(try DescriptorFields(DescriptorBuilder.fileDescriptorProto(for: file, in: model)).messages(4).first)

        let oneofNames = try grant.messages(8).map { $0.strings(1) }
        #expect(oneofNames == [["target"], ["_note"], ["_fallback"]])
        let note = try #require(try grant.messages(2).first { $0.strings(1) == ["note"] })
        #expect(note.varints(9) == [1])
        #expect(note.varints(17) == [1])
    }

    @Test(.enabled(if: RepositoryPaths.hasProtoc, "needs protoc"))
    func theHandBuiltLedgerModelSerializesExactlyAsProtocDoes() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("descriptor-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let protoDirectory = directory.appendingPathComponent("demo/v1")
        try FileManager.default.createDirectory(at: protoDirectory, withIntermediateDirectories: true)
        try Data(SampleModels.ledgerSource.utf8).write(to: protoDirectory.appendingPathComponent("sample.proto"))

        let output = directory.appendingPathComponent("set.pb").path
        let (status, _) = try RepositoryPaths.runProtoc([
            "-I", directory.path, "--descriptor_set_out=\(output)", "demo/v1/sample.proto",
        ])
        try #require(status == 0)
        let expected = try [UInt8](Data(contentsOf: URL(fileURLWithPath: output)))

        // Byte for byte: same fields, same order, same encoding.
        let model = SampleModels.ledger()
        #expect(DescriptorBuilder.fileDescriptorSet(for: model, files: ["demo/v1/sample.proto"]) == expected)
    }

    @Test(
        .enabled(if: RepositoryPaths.hasProtoc, "needs protoc"),
        arguments: [("proto", true), ("Tests/WireFixtures/proto", false)])
    func everyProjectProtoDescribesItselfAsProtocDescribesIt(include: String, recursive: Bool) throws {
        let root = RepositoryPaths.root
        let includeURL = root.appendingPathComponent(include)
        let files = RepositoryPaths.files(
            under: includeURL, suffix: ".proto", relativeTo: includeURL, recursive: recursive)
        try #require(!files.isEmpty)
        let model = try ProtoLoader(includePaths: [includeURL.path]).load(files: files)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("descriptor-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for path in files {
            let output = directory.appendingPathComponent("one.pb").path
            let (status, _) = try RepositoryPaths.runProtoc([
                "-I", includeURL.path, "--descriptor_set_out=\(output)", path,
            ])
            try #require(status == 0)
            let expected = try RepositoryPaths.descriptorSetText(
                [UInt8](Data(contentsOf: URL(fileURLWithPath: output))))
            let ours = try RepositoryPaths.descriptorSetText(DescriptorBuilder.fileDescriptorSet(for: model, files: [path]))
            #expect(ours == expected, "\(path): \(GoldenTests.firstDifference(ours, expected))")
        }
    }
}

/// The fields of a serialized message, by number, for looking into descriptors without generated types.
struct DescriptorFields: ProtoMessage {
    /// One field as it arrived.
    struct Entry: Hashable, Sendable {
        var number: Int
        var varint: UInt64?
        var bytes: [UInt8]?
    }

    static let protoMessageName = "test.DescriptorFields"
    var unknownFields = UnknownFields()
    private var entries: [Entry] = []

    init() {}

    init(_ bytes: [UInt8]) throws {
        try self.init(serializedBytes: bytes)
    }

    func encodeFields(to writer: inout ProtoWriter) {}

    mutating func decodeFields(from reader: inout ProtoReader) throws(ProtoDecodingError) {
        while let tag = try reader.nextTag() {
            switch tag.wireType {
            case .varint:
                entries.append(Entry(number: tag.fieldNumber, varint: try reader.readUInt64(tag, field: "varint")))
            case .lengthDelimited:
                entries.append(Entry(number: tag.fieldNumber, bytes: try reader.readBytes(tag, field: "bytes")))
            default:
                try reader.skipField(tag, into: &unknownFields)
            }
        }
    }

    /// Varint values of field `number`.
    func varints(_ number: Int) -> [UInt64] { entries.filter { $0.number == number }.compactMap(\.varint) }

    /// UTF-8 strings of field `number`.
    func strings(_ number: Int) -> [String] {
        entries.filter { $0.number == number }.compactMap(\.bytes).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Embedded messages of field `number`.
    func messages(_ number: Int) throws -> [DescriptorFields] {
        try entries.filter { $0.number == number }.compactMap(\.bytes).map { try DescriptorFields($0) }
    }
}
