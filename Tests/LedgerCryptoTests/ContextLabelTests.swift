import LedgerCrypto
import Testing

/// Context-labelled messages keep session, key-possession, block-header and checkpoint signatures apart.
@Suite("Context labels")
struct ContextLabelTests {
    @Test("a message is 0x00, the context, 0x00, then the payload")
    func layout() {
        #expect(ContextLabel.message(context: "ab", payload: [1, 2]) == [0, 0x61, 0x62, 0, 1, 2])
        #expect(
            ContextLabel.message(context: ContextLabel.session, payload: []) == [0]
                + Array("healthledger.v1.session".utf8) + [0])
    }

    @Test("the four contexts are identity.proto's")
    func contexts() {
        #expect(ContextLabel.session == "healthledger.v1.session")
        #expect(ContextLabel.keyPossession == "healthledger.v1.key-possession")
        #expect(ContextLabel.blockHeader == "healthledger.v1.block-header")
        #expect(ContextLabel.checkpoint == "healthledger.v1.checkpoint")
    }

    @Test("a session signature does not verify as a checkpoint signature over the same payload")
    func contextsDoNotMix() {
        let node = SigningPrivateKey.generate(.ed25519)
        let payload = Array("chain-1".utf8)
        let signature = node.signature(for: ContextLabel.message(context: ContextLabel.session, payload: payload))
        #expect(
            node.publicKey.isValidSignature(
                signature, for: ContextLabel.message(context: ContextLabel.session, payload: payload)))
        #expect(
            !node.publicKey.isValidSignature(
                signature, for: ContextLabel.message(context: ContextLabel.checkpoint, payload: payload)))
    }
}
