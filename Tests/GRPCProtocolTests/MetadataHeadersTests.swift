import GRPCProtocol
import RPCCore
import Testing

/// Custom-Metadata -> Binary-Header / ASCII-Header (PROTOCOL-HTTP2.md, "Requests").
@Suite("Metadata headers")
struct MetadataHeadersTests {
    @Test("text values pass as they are; binary values are padded base64")
    func outgoing() {
        let metadata: Metadata = [
            "x-request-id": "abc-123", "trace-bin": .binary([0xFB, 0xFF]), "empty-bin": .binary([]),
            "three-bin": .binary(Array("foo".utf8)),
        ]
        let fields = MetadataHeaders.headers(for: metadata)
        #expect(
            fields == [
                HeaderField("x-request-id", "abc-123"), HeaderField("trace-bin", "+/8="), HeaderField("empty-bin", ""),
                HeaderField("three-bin", "Zm9v"),
            ])
    }

    @Test("binary values round-trip for every length and byte value")
    func binaryRoundTrip() {
        for length in 0..<70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 73 &+ length) }
            let metadata: Metadata = ["blob-bin": .binary(bytes)]
            #expect(MetadataHeaders.metadata(from: MetadataHeaders.headers(for: metadata)) == metadata)
        }
        let all: Metadata = ["all-bin": .binary((0...255).map { UInt8($0) })]
        #expect(MetadataHeaders.metadata(from: MetadataHeaders.headers(for: all)) == all)
    }

    @Test("unpadded base64 is accepted, as the spec requires")
    func unpadded() {
        let fields = [HeaderField("a-bin", "Zg"), HeaderField("b-bin", "Zm8"), HeaderField("c-bin", "+/8")]
        #expect(
            MetadataHeaders.metadata(from: fields) == [
                "a-bin": .binary(Array("f".utf8)), "b-bin": .binary(Array("fo".utf8)), "c-bin": .binary([0xFB, 0xFF]),
            ])
    }

    @Test("comma-joined binary values are split before decoding, padded or not, spaces allowed")
    func commaJoined() {
        let fields = [HeaderField("trace-bin", "Zg==,Zm8, Zm9v ,AA")]
        #expect(
            MetadataHeaders.metadata(from: fields).values(forKey: "trace-bin") == [
                .binary(Array("f".utf8)), .binary(Array("fo".utf8)), .binary(Array("foo".utf8)), .binary([0]),
            ])
    }

    @Test("a binary value that is not base64 is dropped, the rest kept")
    func invalidBase64() {
        let fields = [
            HeaderField("bad-bin", "***"), HeaderField("mixed-bin", "Zg,Z,Zm8="), HeaderField("x-ok", "yes"),
            HeaderField("pad-bin", "Zg=a"),
        ]
        var expected = Metadata()
        expected.add(Array("f".utf8), forKey: "mixed-bin")
        expected.add(Array("fo".utf8), forKey: "mixed-bin")
        expected.add("yes", forKey: "x-ok")
        #expect(MetadataHeaders.metadata(from: fields) == expected)
    }

    @Test("text values are never split on commas")
    func textWithCommas() {
        let fields = [HeaderField("x-list", "a, b,c")]
        #expect(MetadataHeaders.metadata(from: fields) == ["x-list": "a, b,c"])
    }

    @Test("repeated keys keep their order")
    func repeatedKeys() {
        var metadata = Metadata()
        metadata.add("1", forKey: "x-a")
        metadata.add("2", forKey: "x-b")
        metadata.add("3", forKey: "x-a")
        let fields = MetadataHeaders.headers(for: metadata)
        #expect(fields.map(\.value) == ["1", "2", "3"])
        #expect(MetadataHeaders.metadata(from: fields).values(forKey: "x-a") == ["1", "3"])
    }

    static let reservedOnBothSides = [
        ":path", ":authority", ":status", "content-type", "te", "grpc-status", "grpc-message", "grpc-encoding",
        "grpc-accept-encoding", "grpc-timeout", "grpc-message-type", "connection", "keep-alive", "proxy-connection",
        "transfer-encoding", "upgrade", "host",
    ]

    @Test("reserved and connection-specific headers are not metadata, in either direction")
    func reserved() {
        let received = Self.reservedOnBothSides.map { HeaderField($0, "1") } + [HeaderField("x-custom", "kept")]
        #expect(MetadataHeaders.metadata(from: received) == ["x-custom": "kept"])

        var metadata = Metadata()
        for name in Self.reservedOnBothSides where !name.hasPrefix(":") { metadata.add("1", forKey: name) }
        metadata.add("kept", forKey: "x-custom")
        #expect(MetadataHeaders.headers(for: metadata) == [HeaderField("x-custom", "kept")])
    }

    @Test("user-agent reaches server applications but is never sent from metadata")
    func userAgent() {
        let received = MetadataHeaders.metadata(from: [HeaderField("user-agent", "grpc-python/1.60.0")])
        #expect(received == ["user-agent": "grpc-python/1.60.0"])
        // An application echoing its request metadata must not produce a second user-agent.
        #expect(MetadataHeaders.headers(for: received).isEmpty)
    }

    @Test("grpc-status-details-bin is metadata both ways, so rich error details get through")
    func statusDetails() {
        let details: Metadata = ["grpc-status-details-bin": .binary([0x08, 0x03, 0x12, 0x01, 0x78])]
        let fields = MetadataHeaders.headers(for: details)
        #expect(fields == [HeaderField("grpc-status-details-bin", "CAMSAXg=")])
        #expect(MetadataHeaders.metadata(from: fields) == details)
    }
}
