/// Context-labelled message for non-transaction signatures: 0x00 || ASCII(context) || 0x00 || payload.
public enum ContextLabel {
    /// Session challenges (CreateSession).
    public static let session = "healthledger.v1.session"
    /// A new key's proof of possession in RotateKey.
    public static let keyPossession = "healthledger.v1.key-possession"
    /// The node's signature of a block header.
    public static let blockHeader = "healthledger.v1.block-header"
    /// The node's signature of a checkpoint.
    public static let checkpoint = "healthledger.v1.checkpoint"

    /// The bytes to sign for `payload` under `context`: 0x00 || ASCII(context) || 0x00 || payload.
    public static func message(context: String, payload: [UInt8]) -> [UInt8] {
        var message: [UInt8] = []
        message.reserveCapacity(context.utf8.count + 2 + payload.count)
        message.append(0)
        message.append(contentsOf: context.utf8)
        message.append(0)
        message.append(contentsOf: payload)
        return message
    }
}
