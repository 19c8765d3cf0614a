import Testing

@testable import LedgerStorage

@Suite("Content cache: small plaintexts kept within a byte bound, oldest dropped first")
struct ContentCacheTests {
    private func address(_ seed: UInt8) -> [UInt8] { [UInt8](repeating: seed, count: 32) }
    private func content(_ count: Int, _ seed: UInt8) -> [UInt8] { [UInt8](repeating: seed, count: count) }
    private let overhead = ContentCache.entryOverhead

    @Test("given room for two contents, when a third is stored, then the first stored is dropped and the others stay")
    func dropsOldestFirst() {
        var cache = ContentCache(capacity: 2 * (100 + overhead))
        cache.insert(content(100, 1), patient: "alice", sha256: address(1))
        cache.insert(content(100, 2), patient: "bob", sha256: address(2))
        #expect(cache.count == 2)
        cache.insert(content(100, 3), patient: "alice", sha256: address(3))
        #expect(cache.content(patient: "alice", sha256: address(1)) == nil)
        #expect(cache.content(patient: "bob", sha256: address(2)) == content(100, 2))
        #expect(cache.content(patient: "alice", sha256: address(3)) == content(100, 3))
        #expect(cache.byteCount == 2 * (100 + overhead))
    }

    @Test("given a patient's contents, when one is removed and then all of that patient, then only theirs are gone")
    func removals() {
        var cache = ContentCache(capacity: 1 << 20)
        cache.insert(content(10, 1), patient: "alice", sha256: address(1))
        cache.insert(content(20, 2), patient: "alice", sha256: address(2))
        cache.insert(content(30, 3), patient: "bob", sha256: address(1))
        cache.remove(patient: "alice", sha256: address(1))
        #expect(cache.content(patient: "alice", sha256: address(1)) == nil)
        #expect(cache.content(patient: "bob", sha256: address(1)) == content(30, 3))
        cache.removeAll(patient: "alice")
        #expect(cache.content(patient: "alice", sha256: address(2)) == nil)
        #expect(cache.count == 1)
        #expect(cache.byteCount == 30 + overhead)
        cache.remove(patient: "carol", sha256: address(9))
        cache.removeAll(patient: "carol")
        #expect(cache.count == 1)
    }

    @Test("given content larger than the whole cache, or a cache of size 0, then nothing is kept")
    func tooLarge() {
        var small = ContentCache(capacity: 100)
        small.insert(content(100, 1), patient: "alice", sha256: address(1))
        #expect(small.count == 0 && small.byteCount == 0)
        var none = ContentCache(capacity: 0)
        none.insert([], patient: "alice", sha256: address(1))
        #expect(none.content(patient: "alice", sha256: address(1)) == nil)
    }

    @Test("given many stores, re-stores and removals, then the cache stays within its bound and keeps the newest")
    func churn() {
        let entryCost = 16 + overhead
        var cache = ContentCache(capacity: 50 * entryCost)
        for round in 0..<20_000 {
            let key = address(UInt8(truncatingIfNeeded: round % 97))
            let patient = "p\(round % 13)"
            cache.insert(content(16, UInt8(truncatingIfNeeded: round)), patient: patient, sha256: key)
            if round % 3 == 0 { cache.remove(patient: patient, sha256: key) }
            if round % 1_001 == 0 { cache.removeAll(patient: "p\(round % 7)") }
            #expect(cache.byteCount <= cache.capacity)
            #expect(cache.byteCount == cache.count * entryCost)
        }
        // The last content stored (round 19,999, not removed) is held.
        #expect(cache.content(patient: "p\(19_999 % 13)", sha256: address(UInt8(19_999 % 97))) != nil)
    }
}
