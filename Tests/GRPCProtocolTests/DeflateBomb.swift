/// Builds a compressed stream of `size` zero bytes without ever holding them: one literal 0, then
/// back-references "length 258, distance 1" in a fixed-Huffman block (RFC 1951 §3.2.5-3.2.6), 13 bits per
/// 258 bytes. 1 GiB of zeros is 6.5 MiB of input, a ratio of about 160:1, to show the decompressor stops at
/// its limit instead of inflating a gigabyte.
enum DeflateBomb {
    /// A gzip member (RFC 1952) of `size` zeros; the CRC-32 is supplied because computing it means reading
    /// every byte.
    static func gzip(zeros size: Int, crc32: UInt32) -> [UInt8] {
        var bytes = hex("1F8B 08 00 00000000 00 03")  // deflate, no flags, no mtime, Unix
        bytes += rawDeflate(zeros: size)
        bytes += littleEndian(crc32) + littleEndian(UInt32(truncatingIfNeeded: size))
        return bytes
    }

    /// A zlib stream (RFC 1950) of `size` zeros.
    static func zlib(zeros size: Int) -> [UInt8] {
        // Adler-32 of n zeros: A stays 1, B adds A once per byte.
        let adler = UInt32(size % 65521) << 16 | 1
        return hex("789C") + rawDeflate(zeros: size)
            + [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: adler >> UInt32($0)) }
    }

    static func rawDeflate(zeros size: Int) -> [UInt8] {
        precondition(size >= 1)
        let matches = (size - 1) / 258
        let trailingLiterals = (size - 1) % 258
        var head = BitWriter()
        head.write(0b011, count: 3)  // BFINAL 1, BTYPE 01 (fixed Huffman), least significant bit first
        head.writeLiteralZero()
        guard matches > 0 else {
            return head.finishBlock(literals: trailingLiterals)
        }
        // 3 + 8 + 13 bits is exactly 3 bytes, and 8 matches are exactly 13 bytes: from here on the stream is
        // one byte-aligned 13-byte block repeated, so a gigabyte costs a memcpy loop, not 4 million bit writes.
        head.writeMatch()
        var bytes = head.finish()
        var eightMatches = BitWriter()
        for _ in 0..<8 { eightMatches.writeMatch() }
        let block = eightMatches.finish()
        let blocks = (matches - 1) / 8
        bytes.reserveCapacity(bytes.count + blocks * block.count + 64)
        for _ in 0..<blocks { bytes.append(contentsOf: block) }
        var tail = BitWriter()
        for _ in 0..<((matches - 1) % 8) { tail.writeMatch() }
        bytes += tail.finishBlock(literals: trailingLiterals)
        return bytes
    }

    private static func littleEndian(_ value: UInt32) -> [UInt8] {
        [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: value >> UInt32($0)) }
    }
}

/// Packs bits least significant first, as DEFLATE does.
private struct BitWriter {
    private var bytes: [UInt8] = []
    private var accumulator: UInt64 = 0
    private var pending = 0

    mutating func write(_ value: UInt64, count: Int) {
        accumulator |= value << UInt64(pending)
        pending += count
        while pending >= 8 {
            bytes.append(UInt8(truncatingIfNeeded: accumulator))
            accumulator >>= 8
            pending -= 8
        }
    }

    /// Huffman codes are packed starting from their most significant bit (RFC 1951 §3.1.1).
    mutating func writeHuffman(_ code: UInt64, count: Int) {
        var reversed: UInt64 = 0
        for bit in 0..<count where code & (1 << UInt64(bit)) != 0 { reversed |= 1 << UInt64(count - 1 - bit) }
        write(reversed, count: count)
    }

    mutating func writeLiteralZero() { writeHuffman(0b0011_0000, count: 8) }

    /// Length code 285 (258 bytes, no extra bits), then distance code 0 (distance 1).
    mutating func writeMatch() {
        writeHuffman(0b1100_0101, count: 8)
        writeHuffman(0b00000, count: 5)
    }

    /// Some literal zeros, then end of block (code 256, seven zero bits).
    mutating func finishBlock(literals: Int) -> [UInt8] {
        for _ in 0..<literals { writeLiteralZero() }
        writeHuffman(0, count: 7)
        return finish()
    }

    mutating func finish() -> [UInt8] {
        if pending > 0 { bytes.append(UInt8(truncatingIfNeeded: accumulator)) }
        return bytes
    }
}
