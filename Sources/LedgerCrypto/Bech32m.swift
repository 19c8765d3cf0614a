/// Bech32m (BIP-350): a human-readable part, the separator "1", 5-bit data characters and a 6-character checksum.
enum Bech32m {
    /// Why a string is not Bech32m.
    enum DecodingError: Error, Equatable {
        case tooLong
        case characterOutOfRange
        case mixedCase
        case missingSeparator
        case emptyHumanReadablePart
        case checksumTooShort
        case invalidDataCharacter
        case badChecksum
    }

    /// The 32 data characters; a character's index is its 5-bit value.
    static let alphabet: [UInt8] = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    /// The 5-bit value of each ASCII byte, or -1 for bytes outside the alphabet.
    static let values: [Int8] = {
        var values = [Int8](repeating: -1, count: 128)
        for (value, character) in alphabet.enumerated() { values[Int(character)] = Int8(value) }
        return values
    }()
    /// The constant BIP-350 XORs into the checksum (Bech32 used 1).
    private static let checksumConstant: UInt32 = 0x2bc8_30a3

    /// The string for a lowercase human-readable part and 5-bit `data` values.
    static func encode(hrp: String, data: [UInt8]) -> String {
        let hrpBytes = Array(hrp.utf8)
        let values = expand(hrp: hrpBytes) + data + [0, 0, 0, 0, 0, 0]
        let checksum = polymod(values) ^ checksumConstant
        var text = hrpBytes
        text.append(UInt8(ascii: "1"))
        for value in data { text.append(alphabet[Int(value)]) }
        for index in 0..<6 { text.append(alphabet[Int((checksum >> (5 * (5 - UInt32(index)))) & 31)]) }
        return String(decoding: text, as: UTF8.self)
    }

    /// The lowercased human-readable part and the 5-bit data values (without checksum) of `text`.
    static func decode(_ text: String) throws(DecodingError) -> (hrp: String, data: [UInt8]) {
        let bytes = Array(text.utf8)
        guard bytes.count <= 90 else { throw .tooLong }
        guard bytes.allSatisfy({ (33...126).contains($0) }) else { throw .characterOutOfRange }
        let hasLower = bytes.contains { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }
        let hasUpper = bytes.contains { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }
        guard !(hasLower && hasUpper) else { throw .mixedCase }
        let lower = bytes.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 + 32 : $0 }
        guard let separator = lower.lastIndex(of: UInt8(ascii: "1")) else { throw .missingSeparator }
        guard separator > 0 else { throw .emptyHumanReadablePart }
        guard lower.count - separator - 1 >= 6 else { throw .checksumTooShort }
        var data: [UInt8] = []
        for character in lower[(separator + 1)...] {
            let value = values[Int(character)]
            guard value >= 0 else { throw .invalidDataCharacter }
            data.append(UInt8(value))
        }
        let hrp = Array(lower[..<separator])
        guard polymod(expand(hrp: hrp) + data) == checksumConstant else { throw .badChecksum }
        return (String(decoding: hrp, as: UTF8.self), Array(data.dropLast(6)))
    }

    /// True when the checksum of a lowercase human-readable part and 5-bit values (checksum included) holds.
    static func checksumHolds(hrp: [UInt8], dataWithChecksum: [UInt8]) -> Bool {
        polymod(expand(hrp: hrp) + dataWithChecksum) == checksumConstant
    }

    /// `data` regrouped from `fromBits`-bit to `toBits`-bit values (BIP-173's convertbits); when not padding, nil
    /// if leftover bits are too many or not zero.
    static func regroup(_ data: [UInt8], fromBits: Int, toBits: Int, pad: Bool) -> [UInt8]? {
        var accumulator = 0
        var bits = 0
        var out: [UInt8] = []
        let maximum = (1 << toBits) - 1
        for value in data {
            guard Int(value) >> fromBits == 0 else { return nil }
            accumulator = (accumulator << fromBits) | Int(value)
            bits += fromBits
            while bits >= toBits {
                bits -= toBits
                out.append(UInt8((accumulator >> bits) & maximum))
            }
        }
        if pad {
            if bits > 0 { out.append(UInt8((accumulator << (toBits - bits)) & maximum)) }
        } else if bits >= fromBits || (accumulator << (toBits - bits)) & maximum != 0 {
            return nil
        }
        return out
    }

    private static func expand(hrp: [UInt8]) -> [UInt8] {
        hrp.map { $0 >> 5 } + [0] + hrp.map { $0 & 31 }
    }

    private static func polymod(_ values: [UInt8]) -> UInt32 {
        var checksum: UInt32 = 1
        for value in values { checksum = step(checksum, value) }
        return checksum
    }

    /// The BCH checksum state after one more 5-bit value (BIP-173's polymod, one step at a time).
    @inline(__always)
    static func step(_ checksum: UInt32, _ value: UInt8) -> UInt32 {
        let top = checksum >> 25
        var next = (checksum & 0x1ff_ffff) << 5 ^ UInt32(value)
        if top & 1 != 0 { next ^= 0x3b6a_57b2 }
        if top & 2 != 0 { next ^= 0x2650_8e6d }
        if top & 4 != 0 { next ^= 0x1ea1_19fa }
        if top & 8 != 0 { next ^= 0x3d42_33dd }
        if top & 16 != 0 { next ^= 0x2a14_62b3 }
        return next
    }

    /// The checksum state after the expanded human-readable part `hrp`.
    static func state(afterHumanReadablePart hrp: [UInt8]) -> UInt32 {
        polymod(expand(hrp: hrp))
    }

    /// Whether a checksum state over a whole string (human-readable part, data and checksum) is valid Bech32m.
    static func isValidFinalState(_ checksum: UInt32) -> Bool { checksum == checksumConstant }
}
