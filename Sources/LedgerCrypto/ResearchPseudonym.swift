/// The research feed's pseudonyms: each principal id replaced by a keyed hash that is stable for one researcher,
/// differs between researchers, and cannot be reversed without the node secret (ledger_service.proto,
/// ResearchFeedRequest).
public struct ResearchPseudonym: Sendable {
    /// Domain separation of the per-researcher key, so the node secret is never used for anything else directly.
    public static let context = "healthledger.v1.research-pseudonym"
    /// Bytes of the node secret kept in the data directory.
    public static let secretByteCount = 32
    /// Bytes of the HMAC kept in a pseudonym (128 bits: collisions are out of reach for any realistic population).
    public static let truncatedByteCount = 16

    /// HMAC-SHA256(node secret, context || 0x00 || UTF-8(researcher id)).
    public let researcherKey: [UInt8]

    /// The pseudonym scheme of `researcher` under the node's `secret`.
    public init(secret: [UInt8], researcher: String) {
        var message = Array(Self.context.utf8)
        message.append(0)
        message.append(contentsOf: researcher.utf8)
        researcherKey = HMACSHA256.authenticationCode(for: message, key: secret)
    }

    /// "ps-" and the lowercase hex of the first 16 bytes of HMAC-SHA256(researcher key, UTF-8(principal id)).
    public func pseudonym(of principal: String) -> String {
        let tag = HMACSHA256.authenticationCode(for: Array(principal.utf8), key: researcherKey)
        return "ps-" + Hex.encode(tag.prefix(Self.truncatedByteCount))
    }
}
