/// A principal id: Bech32m (BIP-350) with human-readable part "hl" of the first 20 bytes of SHA-256 over the raw
/// bytes of the principal's FIRST public key; "hl1" + 32 data chars + 6 checksum chars = 41 lowercase characters.
public struct PrincipalID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The 41-character text form.
    public let text: String

    /// Number of characters in every principal id.
    static let characterCount = 41
    private static let humanReadablePart = "hl"
    private static let prefix = "hl1"

    /// The id of the principal whose first key is `firstKey`.
    public init(firstKey: SigningPublicKey) {
        let hashPrefix = Array(SHA256.hash(firstKey.rawBytes).prefix(20))
        let data = Bech32m.regroup(hashPrefix, fromBits: 8, toBits: 5, pad: true)!
        text = Bech32m.encode(hrp: Self.humanReadablePart, data: data)
    }

    /// Parses the exact lowercase form; throws with a one-line reason.
    public init(parsing text: String) throws(PrincipalIDError) {
        // Every request names principals, so the valid case runs on the UTF-8 bytes without allocating; any
        // non-ASCII byte falls back to the character-level messages, which count Characters.
        var text = text
        let outcome = text.withUTF8 { bytes -> PrincipalIDError? in
            guard bytes.count == Self.characterCount, !bytes.contains(where: { $0 >= 0x80 }) else {
                return Self.characterLevelError(String(decoding: bytes, as: UTF8.self))
            }
            if bytes.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) {
                return PrincipalIDError("must be lowercase")
            }
            guard bytes[0] == UInt8(ascii: "h"), bytes[1] == UInt8(ascii: "l"), bytes[2] == UInt8(ascii: "1") else {
                return PrincipalIDError("must start with \"\(Self.prefix)\"")
            }
            var checksum = Self.checksumStateAfterPrefix
            for position in 3..<bytes.count {
                let value = Bech32m.values[Int(bytes[position])]
                guard value >= 0 else {
                    return PrincipalIDError(
                        "invalid character '\(Character(Unicode.Scalar(bytes[position])))' at position \(position)")
                }
                checksum = Bech32m.step(checksum, UInt8(value))
            }
            // 32 data characters carry exactly the 160 bits of the hash prefix: no padding bits to check.
            return Bech32m.isValidFinalState(checksum) ? nil : PrincipalIDError("bad checksum")
        }
        if let outcome { throw outcome }
        self.text = text
    }

    /// The checksum state after the expanded human-readable part "hl".
    private static let checksumStateAfterPrefix = Bech32m.state(afterHumanReadablePart: Array("hl".utf8))

    /// The reason a text with non-ASCII characters or the wrong length is not an id, in Characters.
    private static func characterLevelError(_ text: String) -> PrincipalIDError {
        let characters = Array(text)
        guard characters.count == characterCount else {
            return PrincipalIDError("must be \(characterCount) characters, got \(characters.count)")
        }
        if characters.contains(where: \.isUppercase) { return PrincipalIDError("must be lowercase") }
        guard text.hasPrefix(prefix) else { return PrincipalIDError("must start with \"\(prefix)\"") }
        let position = characters.indices.first { !(characters[$0].asciiValue.map { Bech32m.values[Int($0)] >= 0 } ?? false) && $0 >= prefix.count } ?? 0
        return PrincipalIDError("invalid character '\(characters[position])' at position \(position)")
    }

    /// The 20 bytes the id encodes.
    public var hashPrefix: [UInt8] {
        let data = text.utf8.dropFirst(Self.prefix.count).dropLast(6).map { UInt8(Bech32m.values[Int($0)]) }
        return Bech32m.regroup(data, fromBits: 5, toBits: 8, pad: false)!
    }

    /// The text form.
    public var description: String { text }

    /// Orders ids by their text.
    public static func < (lhs: PrincipalID, rhs: PrincipalID) -> Bool {
        lhs.text < rhs.text
    }
}

/// Why text is not a principal id; `description` is one line such as "must be 41 characters, got 40".
public struct PrincipalIDError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, in one line.
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}
