import LedgerCrypto

/// A transaction id held as its 32 bytes rather than 64 hex characters: no heap object, and compared word by word.
public struct TransactionDigest: Hashable, Sendable {
    let words: (UInt64, UInt64, UInt64, UInt64)

    /// The digest of 32 bytes (a SHA-256 output).
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a transaction digest has 32 bytes, not \(bytes.count)")
        self = bytes.withUnsafeBytes { Self(loadingFrom: $0.baseAddress!) }
    }

    /// The digest in the 32 bytes at `raw`.
    init(loadingFrom raw: UnsafeRawPointer) {
        words = (
            UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
            UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
            UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
            UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        )
    }

    /// Appends the 32 bytes to `output`.
    func append(to output: inout [UInt8]) {
        for word in [words.0, words.1, words.2, words.3] {
            withUnsafeBytes(of: word.bigEndian) { output.append(contentsOf: $0) }
        }
    }

    /// The digest a transaction id names, or nil when `hex` is not 64 lowercase hex characters.
    public init?(hex: String) {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var text = hex
        let parsed = text.withUTF8 { utf8 -> Bool in
            guard utf8.count == 64 else { return false }
            for index in 0..<64 {
                let character = utf8[index]
                let value: UInt64
                switch character {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt64(character - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): value = UInt64(character - UInt8(ascii: "a") + 10)
                default: return false
                }
                switch index >> 4 {
                case 0: words.0 = words.0 << 4 | value
                case 1: words.1 = words.1 << 4 | value
                case 2: words.2 = words.2 << 4 | value
                default: words.3 = words.3 << 4 | value
                }
            }
            return true
        }
        guard parsed else { return nil }
        self.words = words
    }

    /// The 32 bytes.
    public var bytes: [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(32)
        append(to: &output)
        return output
    }

    /// The id's text: 64 lowercase hex characters.
    public var hex: String {
        String(unsafeUninitializedCapacity: 64) { output in
            for index in 0..<4 {
                let word = index == 0 ? words.0 : index == 1 ? words.1 : index == 2 ? words.2 : words.3
                for nibble in 0..<16 {
                    let value = UInt8(truncatingIfNeeded: word >> (60 - 4 * nibble)) & 0x0f
                    output[index * 16 + nibble] = value < 10 ? 0x30 + value : 0x57 + value
                }
            }
            return 64
        }
    }

    /// The replay guard's key of this transaction (its first 16 bytes).
    public var key: TransactionKey { TransactionKey(high: words.0, low: words.1) }

    public static func == (lhs: TransactionDigest, rhs: TransactionDigest) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2
            && lhs.words.3 == rhs.words.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}

/// A hash set split into 1,024 shards by key, so that copying it (with the ledger state, for a background snapshot)
/// shares the shards, and the next insert copies the one shard it lands in rather than the whole set.
struct ShardedSet<Element: Hashable & Sendable & Shardable>: Sendable, Equatable {
    private var shards: [Set<Element>] = Array(repeating: [], count: shardCount)
    static var shardCount: Int { 1 << 10 }

    var count: Int { shards.reduce(0) { $0 + $1.count } }

    func contains(_ element: Element) -> Bool { shards[element.shard & (Self.shardCount - 1)].contains(element) }

    @discardableResult
    mutating func insert(_ element: Element) -> Bool { shards[element.shard & (Self.shardCount - 1)].insert(element).inserted }

    /// Sizes every shard for `total` elements spread evenly (keys are hashes, so they are).
    mutating func reserveCapacity(_ total: Int) {
        let perShard = total / Self.shardCount + total / (Self.shardCount * 8)
        guard perShard >= 16 else { return }
        for index in shards.indices { shards[index].reserveCapacity(perShard) }
    }

    /// Calls `body` with every element, shard by shard.
    func forEach(_ body: (Element) -> Void) {
        for shard in shards { for element in shard { body(element) } }
    }
}

/// A hash map split into 1,024 shards by key, for the same reason as `ShardedSet`: copying it shares the shards,
/// and the next change after a copy duplicates one small shard, not every entry. (With 64 shards, a block after a
/// snapshot's copy still spent tens of milliseconds copying the shards it touched at a million grants.)
public struct ShardedDictionary<Key: Hashable & Sendable & Shardable, Value: Sendable>: Sendable, Sequence {
    private var shards: [[Key: Value]] = Array(repeating: [:], count: ShardedSet<Key>.shardCount)
    private static var mask: Int { ShardedSet<Key>.shardCount - 1 }

    /// An empty map.
    public init() {}

    /// The value for `key`, nil when there is none; setting nil removes it.
    public subscript(key: Key) -> Value? {
        get { shards[key.shard & Self.mask][key] }
        set { shards[key.shard & Self.mask][key] = newValue }
    }

    /// Number of entries.
    public var count: Int { shards.reduce(0) { $0 + $1.count } }

    /// Whether there are none.
    public var isEmpty: Bool { shards.allSatisfy(\.isEmpty) }

    /// Every value, shard by shard (no particular order).
    public var values: [Value] { shards.flatMap(\.values) }

    /// Sizes every shard for `total` entries spread evenly.
    public mutating func reserveCapacity(_ total: Int) {
        let perShard = total / (Self.mask + 1) + total / ((Self.mask + 1) * 8)
        guard perShard >= 16 else { return }
        for index in shards.indices { shards[index].reserveCapacity(perShard) }
    }

    /// The entries, shard by shard (no particular order).
    public func makeIterator() -> FlattenSequence<[[Key: Value]]>.Iterator {
        shards.joined().makeIterator()
    }
}

/// A key that picks its shard from its own (evenly spread) bits.
public protocol Shardable {
    /// Any bits of the key; the low ten choose the shard.
    var shard: Int { get }
}

extension String: Shardable {
    /// The last three UTF-8 bytes, mixed: the ids used as keys end in hex digits or checksum characters. A key
    /// chosen to land in one shard only makes that shard larger; each is a seeded hash table of its own.
    public var shard: Int {
        var bytes = utf8.reversed().makeIterator()
        let last = UInt32(bytes.next() ?? 0)
        let second = UInt32(bytes.next() ?? 0)
        let third = UInt32(bytes.next() ?? 0)
        return Int((last &* 0x9E37_79B1 ^ second &* 0x85EB_CA6B ^ third &* 0xC2B2_AE35) >> 22)
    }
}

extension PrincipalID: Shardable {
    /// The last character of the id, a checksum character.
    public var shard: Int { text.shard }
}

extension TransactionKey: Shardable {
    /// Bits of the id's hash.
    public var shard: Int { Int(truncatingIfNeeded: low) }
}

/// The replay guard: the first 16 bytes of every committed transaction id. A transaction whose id is here is
/// refused with ALREADY_EXISTS.
public struct TransactionGuard: Sendable, Equatable {
    var keys = ShardedSet<TransactionKey>()

    /// An empty guard.
    public init() {}

    /// Number of transactions guarded.
    public var count: Int { keys.count }

    /// Whether the transaction with this key was committed.
    public func contains(_ key: TransactionKey) -> Bool { keys.contains(key) }

    /// Adds a committed transaction.
    mutating func insert(_ key: TransactionKey) { keys.insert(key) }
}
