import HealthLedgerProtos
import Testing

@testable import LedgerNode

@Suite("A cluster's etcd keys")
struct ClusterKeyspaceTests {
    let keyspace = ClusterKeyspace(prefix: "/healthledger/chain-a/")

    @Test("block keys are zero-padded, so etcd's byte order of keys is height order")
    func blockKeysSortByHeight() {
        let heights: [UInt64] = [1, 2, 9, 10, 99, 100, 12_345, UInt64.max]
        let keys = heights.map { keyspace.block($0) }
        #expect(keys == keys.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(String(decoding: keyspace.block(7), as: UTF8.self) == "/healthledger/chain-a/blocks/00000000000000000007")
    }

    @Test("every key it writes parses back to what it names, and foreign or malformed keys parse to nothing")
    func parsing() {
        #expect(keyspace.parse(keyspace.chain) == .chain)
        #expect(keyspace.parse(keyspace.rules) == .rules)
        #expect(keyspace.parse(keyspace.head) == .head)
        #expect(keyspace.parse(keyspace.leader) == .leader)
        #expect(keyspace.parse(keyspace.block(42)) == .block(height: 42))
        #expect(keyspace.parse(keyspace.node("abc")) == .node(keyID: "abc"))
        #expect(keyspace.parse(keyspace.inbox(node: "n1", batch: "r-7")) == .inbox(node: "n1", batch: "r-7"))
        #expect(keyspace.parse(keyspace.outcome(node: "n1", batch: "r-7")) == .outcome(node: "n1", batch: "r-7"))
        for foreign in ["/healthledger/chain-b/head", "/healthledger/chain-a/blocks/42", "/healthledger/chain-a/inbox/n1",
            "/healthledger/chain-a/heads", "/healthledger/chain-a/", "/other"]
        {
            #expect(keyspace.parse(Array(foreign.utf8)) == nil, "\(foreign)")
        }
    }

    @Test("a head value is decimal text; anything else is no height")
    func headValues() {
        #expect(ClusterKeyspace.height(headValue: ClusterKeyspace.headValue(0)) == 0)
        #expect(ClusterKeyspace.height(headValue: ClusterKeyspace.headValue(123_456)) == 123_456)
        #expect(ClusterKeyspace.height(headValue: Array("12a".utf8)) == nil)
        #expect(ClusterKeyspace.height(headValue: []) == nil)
        #expect(ClusterKeyspace.height(headValue: Array("99999999999999999999".utf8)) == nil)
    }
}

@Suite("Work forwarded through etcd")
struct ForwardedWorkTests {
    @Test("a batch and an outcome decode to what was encoded")
    func roundTrip() throws {
        var event = Healthledger_V1_AuditEvent()
        event.actor = "hl1actor"
        event.patient = "hl1patient"
        var transaction = Healthledger_V1_SignedTransaction()
        transaction.body = [1, 2, 3]
        transaction.signature = [4, 5]
        transaction.keyId = "key"
        let batch = ForwardedBatch(work: [
            ForwardedWork(.transaction(transaction), receivedAt: 1_700_000_000_000),
            ForwardedWork(.auditEvent(event), receivedAt: 1_700_000_000_001),
        ])
        let decoded = try ForwardedBatch(serializedBytes: batch.serializedBytes())
        #expect(decoded.work.map(\.work) == [.transaction(transaction), .auditEvent(event)])
        #expect(decoded.work.map(\.receivedAtUnixMs) == [1_700_000_000_000, 1_700_000_000_001])

        var committed = WorkOutcome()
        committed.firstEntryIndex = 17
        committed.entryCount = 2
        var refused = WorkOutcome()
        refused.statusCode = 7
        refused.statusMessage = "no permit"
        var outcome = ForwardedOutcome()
        outcome.blockHeight = 9
        outcome.outcomes = [committed, refused]
        let back = try ForwardedOutcome(serializedBytes: outcome.serializedBytes())
        #expect(back.blockHeight == 9)
        #expect(back.outcomes == [committed, refused])
    }
}
