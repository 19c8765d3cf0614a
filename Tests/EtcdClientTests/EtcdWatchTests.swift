import EtcdClient
import EtcdTestSupport
import EtcdProtos
import Foundation
import Testing

/// Watches against one real etcd member.
@Suite("etcd: watches", .serialized)
struct EtcdWatchTests {
    /// "PUT key=value" / "DELETE key" for each event, for readable expectations.
    static func describe(_ events: [Mvccpb_Event]) -> [String] {
        events.map { event in
            let key = event.kv?.key.text ?? "?"
            return event.type == .delete ? "DELETE \(key)" : "PUT \(key)=\(event.kv?.value.text ?? "")"
        }
    }

    /// Reads batches from `watch` until `count` events arrived (or 10 s passed), returning the batches.
    static func collect(
        _ count: Int, from watch: AsyncThrowingStream<EtcdWatchBatch, any Error>
    ) async throws -> [EtcdWatchBatch] {
        try await withThrowingTaskGroup(of: [EtcdWatchBatch].self) { group in
            group.addTask {
                var batches: [EtcdWatchBatch] = []
                var seen = 0
                for try await batch in watch {
                    batches.append(batch)
                    seen += batch.events.count
                    if seen >= count { break }
                }
                return batches
            }
            group.addTask {
                try await Task.sleep(for: .seconds(10))
                throw EtcdError.unavailable([])
            }
            let batches = try await group.next()!
            group.cancelAll()
            return batches
        }
    }

    @Test("a watch from a past revision sees the puts and deletes since, in order, then the new ones")
    func watchFromRevision() async throws {
        try await EtcdTestCluster.with { cluster in
            let client = try cluster.client()
            let start = try #require(try await client.put("audit/1".bytes, "a".bytes).header?.revision)
            try await client.put("audit/2".bytes, "b".bytes)
            try await client.deleteRange("audit/1".bytes)
            try await client.put("other".bytes, "not watched".bytes)

            let watch = client.watch("audit/".bytes, end: EtcdClient.prefixEnd("audit/".bytes), startRevision: start)
            let writer = Task {
                try await client.put("audit/3".bytes, "c".bytes)
                try await client.deleteRange("audit/".bytes, end: EtcdClient.prefixEnd("audit/".bytes))
            }
            let batches = try await Self.collect(6, from: watch)
            try await writer.value
            let events = batches.flatMap(\.events)
            #expect(
                Self.describe(events) == [
                    "PUT audit/1=a", "PUT audit/2=b", "DELETE audit/1", "PUT audit/3=c", "DELETE audit/2",
                    "DELETE audit/3",
                ])
            let revisions = events.compactMap { $0.kv?.modRevision }
            #expect(revisions.first == start)
            #expect(revisions == revisions.sorted(), "in revision order")
            for batch in batches { #expect(batch.revision >= (batch.events.last?.kv?.modRevision ?? 0)) }
            await client.close()
        }
    }

    @Test("a watch from a compacted revision ends with the typed error naming the compact revision")
    func watchFromCompactedRevision() async throws {
        try await EtcdTestCluster.with { cluster in
            let client = try cluster.client()
            let first = try #require(try await client.put("k".bytes, "1".bytes).header?.revision)
            try await client.put("k".bytes, "2".bytes)
            let third = try #require(try await client.put("k".bytes, "3".bytes).header?.revision)
            try await client.compact(revision: third)

            let watch = client.watch("k".bytes, startRevision: first)
            do {
                for try await batch in watch { Issue.record("a compacted watch delivered \(batch)") }
                Issue.record("the watch ended without an error")
            } catch let error as EtcdError {
                #expect(error == .compacted(compactRevision: third))
            }

            // From the compact revision on, the history is there.
            let batches = try await Self.collect(1, from: client.watch("k".bytes, startRevision: third))
            #expect(Self.describe(batches.flatMap(\.events)) == ["PUT k=3"])
            await client.close()
        }
    }
}
