import LedgerStorage
import Testing

@Suite("CRC-32C")
struct CRC32CTests {
    @Test("the standard check value: crc32c(\"123456789\") is 0xE3069283")
    func checkValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test("known vectors from RFC 3720 (iSCSI): 32 zero bytes, 32 0xFF bytes, 0...31")
    func iscsiVectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum([]) == 0)
    }

    @Test("given any split of the input, continuing the checksum gives the checksum of the whole")
    func continuation() {
        let bytes = testBytes(1000, seed: 7)
        let whole = CRC32C.checksum(bytes)
        for split in [0, 1, 7, 8, 9, 63, 500, 999, 1000] {
            let first = CRC32C.checksum(Array(bytes[..<split]))
            #expect(CRC32C.checksum(Array(bytes[split...]), continuing: first) == whole)
        }
    }

    /// Bit-at-a-time CRC-32C, the definition the fast paths must match.
    private func reference(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }

    @Test("the sliced fast path agrees with a bit-at-a-time reference at every short length and alignment")
    func agreesWithReference() {
        let bytes = testBytes(80, seed: 3)
        for start in 0..<8 {
            for end in start...bytes.count {
                let slice = bytes[start..<end]
                let fast = slice.withUnsafeBytes { CRC32C.checksum($0) }
                #expect(fast == reference(slice), "bytes \(start)..<\(end)")
            }
        }
    }

    @Test(
        "the four-lane path for long inputs agrees with the reference around every round boundary",
        arguments: [1023, 1024, 1025, 2047, 2048, 2055, 3 * 1024 + 517, 10_000])
    func longInputs(count: Int) {
        let bytes = testBytes(count + 3, seed: UInt64(count))
        for start in [0, 3] {
            let slice = bytes[start..<start + count]
            #expect(slice.withUnsafeBytes { CRC32C.checksum($0) } == reference(slice))
        }
        let split = count / 3
        let first = CRC32C.checksum(Array(bytes[..<split]))
        #expect(CRC32C.checksum(Array(bytes[split..<count]), continuing: first) == reference(bytes[..<count]))
    }
}
