import LedgerDomain

/// Where a replicated ledger keeps its state in etcd, under one prefix (several ledgers may share an etcd cluster):
///
/// | key | value |
/// | --- | --- |
/// | `<prefix>/chain` | the chain id, written once by the first node |
/// | `<prefix>/rules` | the policy settings admission depends on (``ClusterKeyspace/rulesValue(_:)``), written by the first node |
/// | `<prefix>/nodes/<node key id>` | a node's block-signing key (`NodeKey`), written when it first joins |
/// | `<prefix>/leader` | the proposing node's key id and address, bound to its lease |
/// | `<prefix>/head` | the height of the last block, as decimal text |
/// | `<prefix>/blocks/<height, 20 digits>` | a block, exactly as the block log stores it |
/// | `<prefix>/inbox/<node key id>/<batch id>` | work another node forwarded for the next block (`ForwardedBatch`) |
/// | `<prefix>/outcomes/<node key id>/<batch id>` | what became of that work (`ForwardedOutcome`) |
///
/// Heights are zero-padded so etcd's byte order of keys is height order.
struct ClusterKeyspace: Sendable, Equatable {
    /// The prefix, without a trailing slash.
    let prefix: String

    init(prefix: String) {
        var prefix = prefix
        while prefix.hasSuffix("/") { prefix.removeLast() }
        self.prefix = prefix
    }

    var chain: [UInt8] { key("chain") }
    var rules: [UInt8] { key("rules") }
    var head: [UInt8] { key("head") }
    var leader: [UInt8] { key("leader") }
    var blocksPrefix: [UInt8] { key("blocks/") }
    var nodesPrefix: [UInt8] { key("nodes/") }
    var inboxPrefix: [UInt8] { key("inbox/") }
    /// Every key of the ledger: what a node watches.
    var all: [UInt8] { key("") }

    func block(_ height: UInt64) -> [UInt8] { key("blocks/" + Self.padded(height)) }
    func node(_ keyID: String) -> [UInt8] { key("nodes/" + keyID) }
    func inbox(node: String, batch: String) -> [UInt8] { key("inbox/\(node)/\(batch)") }
    func outcome(node: String, batch: String) -> [UInt8] { key("outcomes/\(node)/\(batch)") }

    /// The text of a head value.
    static func headValue(_ height: UInt64) -> [UInt8] { Array(String(height).utf8) }

    /// The height a head value states; nil when it is not a decimal height.
    static func height(headValue bytes: [UInt8]) -> UInt64? {
        guard !bytes.isEmpty, bytes.count <= 20, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt64(String(decoding: bytes, as: UTF8.self))
    }

    /// The text of a rules value: every setting a block's admission depends on, one per line, so nodes that would
    /// admit differently are refused at start instead of following a leader whose blocks they would judge otherwise.
    static func rulesValue(_ rules: LedgerRules) -> [UInt8] {
        let lines = [
            "emergency_clinicians=" + rules.emergencyClinicians.sorted().joined(separator: ","),
            "emergency_categories=" + rules.emergencyCategories.categories.map { "\($0)" }.joined(separator: ","),
            "max_emergency_duration_ms=\(rules.maxEmergencyDurationMs)",
            "max_clock_skew_ms=\(rules.maxClockSkewMs)",
        ]
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    /// What a key of this keyspace names.
    enum Key: Equatable {
        case chain, rules, head, leader
        case block(height: UInt64)
        case node(keyID: String)
        case inbox(node: String, batch: String)
        case outcome(node: String, batch: String)
    }

    /// What `bytes` names; nil for a key outside this keyspace or one it does not define.
    func parse(_ bytes: [UInt8]) -> Key? {
        let own = all
        guard bytes.count > own.count, bytes.starts(with: own) else { return nil }
        let rest = String(decoding: bytes[own.count...], as: UTF8.self)
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        switch (parts.first, parts.count) {
        case ("chain", 1): return .chain
        case ("rules", 1): return .rules
        case ("head", 1): return .head
        case ("leader", 1): return .leader
        case ("blocks", 2):
            guard parts[1].count == 20, let height = UInt64(parts[1]) else { return nil }
            return .block(height: height)
        case ("nodes", 2) where !parts[1].isEmpty: return .node(keyID: parts[1])
        case ("inbox", 3) where !parts[1].isEmpty && !parts[2].isEmpty: return .inbox(node: parts[1], batch: parts[2])
        case ("outcomes", 3) where !parts[1].isEmpty && !parts[2].isEmpty:
            return .outcome(node: parts[1], batch: parts[2])
        default: return nil
        }
    }

    private func key(_ suffix: String) -> [UInt8] { Array((prefix + "/" + suffix).utf8) }

    private static func padded(_ height: UInt64) -> String {
        let digits = String(height)
        return String(repeating: "0", count: 20 - digits.count) + digits
    }
}
