import EtcdClient
import EtcdTestSupport
import EtcdProtos
import Foundation
import Testing

/// Keys, transactions and leases against one real etcd member.
@Suite("etcd: keys, transactions and leases", .serialized)
struct EtcdKeyValueTests {
    @Test("put then range: one key, a prefix, a limit, and the store as of an earlier revision")
    func putAndRange() async throws {
        try await EtcdTestCluster.with { cluster in
            let client = try cluster.client()
            let first = try await client.put("grants/alice".bytes, "labs".bytes)
            try await client.put("grants/bob".bytes, "imaging".bytes)
            try await client.put("grants/carol".bytes, "notes".bytes)
            try await client.put("grantsz".bytes, "outside the prefix".bytes)
            try await client.put("grants/alice".bytes, "labs+imaging".bytes)

            let alice = try await client.range("grants/alice".bytes)
            #expect(alice.kvs.map(\.value.text) == ["labs+imaging"])
            #expect(alice.kvs.first?.version == 2)

            let prefix = try await client.range("grants/".bytes, end: EtcdClient.prefixEnd("grants/".bytes))
            #expect(prefix.kvs.map(\.key.text) == ["grants/alice", "grants/bob", "grants/carol"])
            #expect(prefix.count == 3)

            let limited = try await client.range(
                "grants/".bytes, end: EtcdClient.prefixEnd("grants/".bytes), limit: 2)
            #expect(limited.kvs.map(\.key.text) == ["grants/alice", "grants/bob"])
            #expect(limited.more)

            let then = try #require(first.header?.revision)
            let before = try await client.range("grants/alice".bytes, revision: then)
            #expect(before.kvs.map(\.value.text) == ["labs"], "the key as it was at the first put")

            let keysOnly = try await client.range("grants/bob".bytes, keysOnly: true)
            #expect(keysOnly.kvs.first?.key.text == "grants/bob" && keysOnly.kvs.first?.value == [])
            await client.close()
        }
    }

    @Test("delete one key, then a prefix; the counts say how many went")
    func delete() async throws {
        try await EtcdTestCluster.with { cluster in
            let client = try cluster.client()
            for name in ["a", "b", "c"] { try await client.put("records/\(name)".bytes, name.bytes) }
            let one = try await client.deleteRange("records/a".bytes)
            #expect(one.deleted == 1)
            let none = try await client.deleteRange("records/a".bytes)
            #expect(none.deleted == 0)
            let rest = try await client.deleteRange("records/".bytes, end: EtcdClient.prefixEnd("records/".bytes))
            #expect(rest.deleted == 2)
            #expect(try await client.range("records/".bytes, end: EtcdClient.prefixEnd("records/".bytes)).count == 0)
            await client.close()
        }
    }

    @Test("Txn compare-and-swap on the value, the mod revision and the create revision: held and not held")
    func compareAndSwap() async throws {
        try await EtcdTestCluster.with { cluster in
            let client = try cluster.client()
            let key = "ledger/head".bytes

            // Create only if absent: create_revision == 0.
            let created = try await client.txn(
                .init(if: [.createRevision(of: key, .equal, 0)], then: [.put(key, "block-1".bytes)]))
            #expect(created.succeeded)
            let again = try await client.txn(
                .init(
                    if: [.createRevision(of: key, .equal, 0)], then: [.put(key, "block-1 again".bytes)],
                    else: [.range(key)]))
            #expect(!again.succeeded, "the key exists now")
            guard case .responseRange(let current)? = again.responses.first?.response else {
                Issue.record("the failure branch's range answer is missing: \(again)")
                return
            }
            #expect(current.kvs.map(\.value.text) == ["block-1"])
            let modRevision = try #require(current.kvs.first?.modRevision)

            // Swap on the value.
            let onValue = try await client.txn(
                .init(if: [.value(of: key, .equal, "block-1".bytes)], then: [.put(key, "block-2".bytes)]))
            #expect(onValue.succeeded)
            let staleValue = try await client.txn(
                .init(if: [.value(of: key, .equal, "block-1".bytes)], then: [.put(key, "block-2b".bytes)]))
            #expect(!staleValue.succeeded, "the value moved on")

            // Swap on the mod revision: the one read before block-2 is stale now.
            let staleRevision = try await client.txn(
                .init(if: [.modRevision(of: key, .equal, modRevision)], then: [.put(key, "block-3".bytes)]))
            #expect(!staleRevision.succeeded)
            let latest = try #require(try await client.range(key).kvs.first)
            let onRevision = try await client.txn(
                .init(if: [.modRevision(of: key, .equal, latest.modRevision)], then: [.put(key, "block-3".bytes)]))
            #expect(onRevision.succeeded)

            // The create revision stays the creation's through every swap.
            let sameCreation = try await client.txn(
                .init(if: [.createRevision(of: key, .equal, latest.createRevision)], then: []))
            #expect(sameCreation.succeeded)
            let laterCreation = try await client.txn(
                .init(if: [.createRevision(of: key, .greater, latest.createRevision)], then: []))
            #expect(!laterCreation.succeeded)

            #expect(try await client.range(key).kvs.map(\.value.text) == ["block-3"])
            await client.close()
        }
    }

    @Test("a leased key outlives its TTL while kept alive, vanishes without keep-alive, and goes with a revoke")
    func leases() async throws {
        try await EtcdTestCluster.with { cluster in
            let client = try cluster.client()

            // Kept alive: still there well past the TTL.
            let kept = try await client.grantLease(ttlSeconds: 2)
            #expect(kept.ttl == 2)
            try await client.put("nodes/alive".bytes, "n1".bytes, lease: kept.id)
            let keepAlive = client.keepAlive(lease: kept.id)
            var renewals = 0
            for await event in keepAlive.events {
                if case .renewed(let ttl, _) = event {
                    #expect(ttl == 2)
                    renewals += 1
                }
                if renewals == 7 { break }  // first at once, then every 2/3 s: about 4 s, twice the TTL
            }
            #expect(try await client.range("nodes/alive".bytes).count == 1, "kept alive past its TTL")

            // Not kept alive: gone after the TTL.
            let lapsed = try await client.grantLease(ttlSeconds: 1)
            try await client.put("nodes/lapsed".bytes, "n2".bytes, lease: lapsed.id)
            #expect(try await client.range("nodes/lapsed".bytes).count == 1)
            try await Task.sleep(for: .seconds(3))
            #expect(try await client.range("nodes/lapsed".bytes).count == 0, "expired with its lease")
            #expect(try await client.leaseTimeToLive(lapsed.id).ttl == -1)

            // Revoked: the key goes at once, and the keep-alive hears the lease is gone.
            try await client.revokeLease(kept.id)
            #expect(try await client.range("nodes/alive".bytes).count == 0)
            var ending: EtcdLeaseKeepAlive.Event?
            for await event in keepAlive.events {
                if case .renewed = event { continue }
                ending = event
            }
            #expect(ending == .expired)
            do {
                try await client.revokeLease(kept.id)
                Issue.record("revoking twice succeeded")
            } catch let error as EtcdError {
                #expect(error.serverReason == .leaseNotFound)
                guard case .server(let answer) = error else { throw error }
                #expect(answer.code == .notFound && answer.message == "etcdserver: requested lease not found")
            }
            await client.close()
        }
    }

    @Test("status and member list name the one member, its leader and its version")
    func statusAndMembers() async throws {
        try await EtcdTestCluster.with { cluster in
            let client = try cluster.client()
            let status = try await client.status()
            #expect(status.version.hasPrefix("3.4"))
            #expect(status.leader == status.header?.memberId)
            let members = try await client.memberList()
            #expect(members.members.map(\.name) == ["member0"])
            #expect(members.members.first?.clientURLs == ["http://127.0.0.1:\(cluster.members[0].clientPort)"])
            await client.close()
        }
    }

    @Test("a Range at a compacted revision is etcd's typed error; a dead first endpoint is skipped, even for a Put")
    func compactedRangeAndDeadEndpoint() async throws {
        try await EtcdTestCluster.with { cluster in
            let client = try cluster.client()
            let first = try await client.put("k".bytes, "1".bytes)
            let second = try await client.put("k".bytes, "2".bytes)
            try await client.compact(revision: try #require(second.header?.revision))
            do {
                _ = try await client.range("k".bytes, revision: try #require(first.header?.revision))
                Issue.record("a compacted revision was read")
            } catch let error as EtcdError {
                #expect(error.serverReason == .compacted)
                guard case .server(let answer) = error else { throw error }
                #expect(answer.code == .outOfRange)
            }
            await client.close()

            // Nothing listens on the first endpoint: the connection is refused, so even a Put never left and
            // goes to the next one.
            let dead = EtcdEndpoint(host: "127.0.0.1", port: try EtcdTestCluster.freePort())
            let failingOver = try EtcdClient(endpoints: [dead] + cluster.endpoints)
            try await failingOver.put("k".bytes, "3".bytes)
            #expect(try await failingOver.range("k".bytes).kvs.map(\.value.text) == ["3"])
            await failingOver.close()
            do {
                _ = try await failingOver.range("k".bytes)
                Issue.record("a closed client made a call")
            } catch let error as EtcdError {
                #expect(error == .closed)
            }
        }
    }
}
