import GRPCStandardServices
import Testing

// The registry on its own: what a new server reports, and how watchers are fed and let go.

@Suite struct HealthStatusRegistryTests {
    @Test func aSlowWatcherGetsOnlyTheNewestStatus() async {
        let registry = HealthStatusRegistry()
        let updates = registry.statusUpdates(forService: "healthledger.v1.Ledger")
        // Nobody reads while the status changes many times: the stream keeps one value, not a backlog.
        for round in 0..<1000 {
            registry.setStatus(round.isMultiple(of: 2) ? .serving : .notServing, forService: "healthledger.v1.Ledger")
        }
        registry.setStatus(.serving, forService: "healthledger.v1.Ledger")

        var iterator = updates.makeAsyncIterator()
        #expect(await iterator.next() == .serving)
        registry.setStatus(.notServing, forService: "healthledger.v1.Ledger")
        #expect(await iterator.next() == .notServing)
    }

    @Test func theServerStartsServingAndServicesStartUnknown() {
        let registry = HealthStatusRegistry()
        #expect(registry.status(forService: HealthStatusRegistry.server) == .serving)
        #expect(registry.status(forService: "healthledger.v1.Ledger") == nil)
        #expect(registry.allStatuses() == ["": .serving])
    }

    @Test func anUnreadStreamThatIsDroppedUnregisters() {
        let registry = HealthStatusRegistry()
        do {
            let updates = registry.statusUpdates(forService: "")
            _ = updates
            #expect(registry.watcherCount == 1)
        }
        #expect(registry.watcherCount == 0)
    }
}
