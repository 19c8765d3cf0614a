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
        let characters = Array(text)
        guard characters.count == Self.characterCount else {
            throw PrincipalIDError("must be \(Self.characterCount) characters, got \(characters.count)")
        }
        guard !characters.contains(where: \.isUppercase) else { throw PrincipalIDError("must be lowercase") }
        guard text.hasPrefix(Self.prefix) else { throw PrincipalIDError("must start with \"\(Self.prefix)\"") }
        var values: [UInt8] = []
        values.reserveCapacity(Self.characterCount - Self.prefix.count)
        for position in Self.prefix.count..<characters.count {
            let character = characters[position]
            guard let ascii = character.asciiValue, Bech32m.values[Int(ascii)] >= 0 else {
                throw PrincipalIDError("invalid character '\(character)' at position \(position)")
            }
            values.append(UInt8(Bech32m.values[Int(ascii)]))
        }
        guard Bech32m.checksumHolds(hrp: Array(Self.humanReadablePart.utf8), dataWithChecksum: values) else {
            throw PrincipalIDError("bad checksum")
        }
        // 32 characters carry exactly 160 bits, so this holds for every id that got this far; kept as the rule.
        guard let bytes = Bech32m.regroup(Array(values.dropLast(6)), fromBits: 5, toBits: 8, pad: false),
            bytes.count == 20
        else { throw PrincipalIDError("must encode 20 bytes") }
        self.text = text
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
