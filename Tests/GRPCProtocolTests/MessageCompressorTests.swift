#if canImport(Glibc)
    import Glibc
    private let RUSAGE_SELF_WHO = RUSAGE_SELF.rawValue
#elseif canImport(Darwin)
    import Darwin
    private let RUSAGE_SELF_WHO = RUSAGE_SELF
#endif
import GRPCProtocol
import RPCCore
import Testing

/// gzip (RFC 1952) and deflate (zlib, RFC 1950) per message, bounded on the way in (compression.md).
@Suite("Message compressor")
struct MessageCompressorTests {
    static let inputs: [[UInt8]] = [
        [], [0], Array("hello, gRPC over HTTP/2".utf8), sampleMessage(length: 100_000),
        [UInt8](repeating: 0x41, count: 1 << 20), (0..<70_000).map { _ in UInt8.random(in: 0...255) },
    ]

    @Test("compress then decompress returns the input", arguments: [MessageEncoding.gzip, .deflate, .identity])
    func roundTrip(encoding: MessageEncoding) throws {
        for input in Self.inputs {
            let compressed = MessageCompressor.compress(input, encoding: encoding)
            let output = try MessageCompressor.decompress(compressed, encoding: encoding, limit: input.count)
            #expect(output == input)
        }
    }

    @Test("gzip output is a gzip member; deflate output is a zlib stream")
    func formats() {
        let gzip = MessageCompressor.compress([1, 2, 3], encoding: .gzip)
        #expect(Array(gzip.prefix(3)) == hex("1F8B08"))
        let deflate = MessageCompressor.compress([1, 2, 3], encoding: .deflate)
        #expect(deflate[0] == 0x78)
        #expect((UInt16(deflate[0]) << 8 | UInt16(deflate[1])) % 31 == 0)  // RFC 1950 FCHECK
        #expect(MessageCompressor.compress([1, 2, 3], encoding: .identity) == [1, 2, 3])
    }

    // Made by CPython 3.11: gzip.compress(data, mtime=0) and zlib.compress(data[, 9]), base64-encoded.
    static let pythonVectors: [(encoding: MessageEncoding, compressed: String, plain: [UInt8])] = [
        (.gzip, "H4sIAAAAAAACA8tIzcnJ11FIDwpwVsgvSy1S8AgJCdA3AgBmbGydFwAAAA==", Array("hello, gRPC over HTTP/2".utf8)),
        (.deflate, "eJzLSM3JyddRSA8KcFbIL0stUvAICQnQNwIAXOUHSg==", Array("hello, gRPC over HTTP/2".utf8)),
        (
            .gzip,
            "H4sIAAAAAAACA+3LuQ2AMBAEwFa2AounBXISN3CIE1iyDmSv+6cMkp188u14jcWDuJoF/US1A837qOzgg60l7N0LRrBULNM6J2Q9PT09PT09vZ/eBzQvMBfACAAA",
            Array(String(repeating: "The patient granted lab results to Dr. Osei until 2031. ", count: 40).utf8)
        ),
        (
            .deflate,
            "eNrty7kNgDAQBMBWtgKLpwVyEjdwiBNYsg5kr/unDJKdfPLteI3Fg7iaBf1EtQPN+6js4IOtJezdC0awVCzTOidkPT09PT09Pb2f3gcJrPYX",
            Array(String(repeating: "The patient granted lab results to Dr. Osei until 2031. ", count: 40).utf8)
        ),
        (.gzip, "H4sIAAAAAAACAwMAAAAAAAAAAAA=", []),
        (.deflate, "eJwDAAAAAAE=", []),
        (
            .gzip,
            "H4sIAAAAAAACA2NgZGJmYWVj5+Dk4ubh5eMXEBQSFhEVE5eQlJKWkZWTV1BUUlZRVVPX0NTS1tHV0zcwNDI2MTUzt7C0sraxtbN3cHRydnF1c/fw9PL28fXzDwgMCg4JDQuPiIyKjomNi09ITEpOSU1Lz8jMys7JzcsvKCwqLiktK6+orKquqa2rb2hsam5pbWvv6Ozq7unt658wcdLkKVOnTZ8xc9bsOXPnzV+wcNHiJUuXLV+xctXqNWvXrd+wcdPmLVu3bd+xc9fuPXv37T9w8NDhI0ePHT9x8tTpM2fPnb9w8dLlK1evXb9x89btO3fv3X/w8NHjJ0+fPX/x8tXrN2/fvf/w8dPnL1+/ff/x89fvP3///WcY9f+o/0ew/wEmTAu3AAQAAA==",
            [UInt8]((0..<1024).map { UInt8($0 % 256) })
        ),
        // Two gzip members back to back, as `cat a.gz b.gz` makes: gzip(1) reads them as one file.
        (.gzip, "H4sIAAAAAAACA0vLLCou0QEA1zZHFQYAAAAfiwgAAAAAAAIDK05Nzs9LAQBpER+2BgAAAA==", Array("first,second".utf8)),
    ]

    @Test("messages compressed by Python's gzip and zlib decompress to the original", arguments: 0..<8)
    func pythonInterop(index: Int) throws {
        let vector = Self.pythonVectors[index]
        let output = try MessageCompressor.decompress(
            base64(vector.compressed), encoding: vector.encoding, limit: 1 << 20)
        #expect(output == vector.plain)
    }

    @Test("gzip decompression also accepts zlib-format data (windowBits 47 detects the header)")
    func gzipAutoDetects() throws {
        let zlibData = base64("eJzLSM3JyddRSA8KcFbIL0stUvAICQnQNwIAXOUHSg==")
        #expect(
            try MessageCompressor.decompress(zlibData, encoding: .gzip, limit: 100)
                == Array("hello, gRPC over HTTP/2".utf8))
    }

    @Test("output exactly at the limit is fine; one byte over is RESOURCE_EXHAUSTED")
    func limitBoundary() throws {
        let input = sampleMessage(length: 1000)
        for encoding in [MessageEncoding.gzip, .deflate, .identity] {
            let compressed = MessageCompressor.compress(input, encoding: encoding)
            #expect(try MessageCompressor.decompress(compressed, encoding: encoding, limit: 1000) == input)
            let error = caughtError { try MessageCompressor.decompress(compressed, encoding: encoding, limit: 999) }
            #expect(error?.code == .resourceExhausted)
        }
    }

    @Test("a limit of Int.max means no limit, and a negative limit means zero")
    func extremeLimits() throws {
        let input = sampleMessage(length: 3000)
        for encoding in [MessageEncoding.gzip, .deflate, .identity] {
            let compressed = MessageCompressor.compress(input, encoding: encoding)
            #expect(try MessageCompressor.decompress(compressed, encoding: encoding, limit: .max) == input)
            let error = caughtError { try MessageCompressor.decompress(compressed, encoding: encoding, limit: -1) }
            #expect(error?.code == .resourceExhausted)
        }
        #expect(try MessageCompressor.decompress([], encoding: .identity, limit: -1) == [])
    }

    @Test(
        "a decompression bomb (1 GiB of zeros) fails RESOURCE_EXHAUSTED quickly and without large memory",
        arguments: [MessageEncoding.gzip, .deflate])
    func bomb(encoding: MessageEncoding) throws {
        let gibibyte = 1 << 30
        let bomb =
            encoding == .gzip
            ? DeflateBomb.gzip(zeros: gibibyte, crc32: 0x5B64_C2B0) : DeflateBomb.zlib(zeros: gibibyte)
        #expect(bomb.count < 7 << 20)
        let peakBefore = peakResidentBytes()
        let clock = ContinuousClock()
        let start = clock.now
        let error = caughtError { try MessageCompressor.decompress(bomb, encoding: encoding, limit: 4 << 20) }
        let elapsed = clock.now - start
        #expect(error == RPCError(.resourceExhausted, "decompressed message larger than max (4194304)"))
        #expect(elapsed < .seconds(2))
        // Peak RSS only ever grows; a bounded decompressor adds a few MiB, an unbounded one a gigabyte.
        #expect(peakResidentBytes() - peakBefore < 256 << 20)
    }

    @Test(
        "the bomb builder is honest: small bombs inflate to exactly their zeros, checksums included",
        arguments: [1, 2, 258, 259, 260, 258 * 2 + 1, 258 * 9 + 1, 258 * 9 + 2, 258 * 10 + 5, 258 * 17 + 1, 100_000])
    func bombBuilderIsValid(size: Int) throws {
        let zeros = [UInt8](repeating: 0, count: size)
        #expect(
            try MessageCompressor.decompress(DeflateBomb.zlib(zeros: size), encoding: .deflate, limit: size) == zeros)
        if size == 258 * 10 + 5 {
            // CRC-32 of 2585 zeros, from Python's zlib.crc32(bytes(2585)).
            let gzip = DeflateBomb.gzip(zeros: size, crc32: 0x2144_630B)
            #expect(try MessageCompressor.decompress(gzip, encoding: .gzip, limit: size) == zeros)
        }
    }

    @Test("corrupt, truncated or trailing-garbage input is INTERNAL", arguments: [MessageEncoding.gzip, .deflate])
    func corrupt(encoding: MessageEncoding) {
        let good = MessageCompressor.compress(sampleMessage(length: 5000), encoding: encoding)
        var flipped = good
        flipped[good.count / 2] ^= 0xFF
        var badChecksum = good
        badChecksum[good.count - (encoding == .gzip ? 6 : 2)] ^= 0x01
        let cases: [[UInt8]] = [
            [], hex("DEADBEEF"), flipped, badChecksum, Array(good.dropLast(3)), Array(good.prefix(12)),
            good + hex("00"),
        ]
        for input in cases {
            let error = caughtError { try MessageCompressor.decompress(input, encoding: encoding, limit: 1 << 20) }
            #expect(error?.code == .internalError, "input of \(input.count) bytes")
        }
    }

    @Test("corrupt gzip names the problem")
    func corruptMessage() {
        let error = caughtError {
            try MessageCompressor.decompress(hex("1F8B 08 00 DEADBEEF"), encoding: .gzip, limit: 10)
        }
        #expect(error?.code == .internalError)
        #expect(error?.message.hasPrefix("gzip message") == true || error?.message.hasPrefix("corrupt gzip") == true)
    }

    private func peakResidentBytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF_WHO, &usage)
        #if canImport(Darwin)
            return usage.ru_maxrss  // bytes on Darwin
        #else
            return usage.ru_maxrss * 1024  // KiB on Linux
        #endif
    }
}
