import Foundation
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerDomain
import LedgerStorage
import Logging
import Testing

@testable import LedgerNode

@Suite("When a running node's next snapshot is due")
struct SnapshotTriggerTests {
    @Test("given a count trigger, then a snapshot is due once that many entries are uncovered, and not again until as many more")
    func countTrigger() {
        var trigger = SnapshotTrigger(
            schedule: SnapshotSchedule(everyEntries: 10, everySeconds: 0), coveredHeight: nil, coveredEntries: 0,
            committedEntries: 0, now: 0)
        trigger.committed(entries: 9, now: 1)
        #expect(!trigger.isDue(now: 1_000))
        trigger.committed(entries: 10, now: 2)
        #expect(trigger.isDue(now: 2))
        trigger.started(entries: 10)
        #expect(!trigger.isDue(now: 3), "never two at once")
        trigger.committed(entries: 25, now: 3)
        #expect(!trigger.isDue(now: 3), "never two at once")
        trigger.finished(height: 4, succeeded: true, now: 4)
        #expect(trigger.coveredHeight == 4)
        #expect(trigger.isDue(now: 4), "15 entries arrived while it was written")
    }

    @Test("given a time trigger, then a snapshot is due that long after the oldest uncovered commit, and never for an idle node")
    func timeTrigger() {
        var trigger = SnapshotTrigger(
            schedule: SnapshotSchedule(everyEntries: 0, everySeconds: 60), coveredHeight: 3, coveredEntries: 5,
            committedEntries: 5, now: 0)
        #expect(!trigger.isDue(now: 10_000))
        #expect(trigger.nextDeadline() == nil)
        trigger.committed(entries: 6, now: 100)
        trigger.committed(entries: 7, now: 150)
        #expect(trigger.nextDeadline() == 160)
        #expect(!trigger.isDue(now: 159))
        #expect(trigger.isDue(now: 160))
    }

    @Test("given a start that replayed entries no snapshot covers, then the next snapshot is due as if they were just committed")
    func replayedTailCounts() {
        let long = SnapshotTrigger(
            schedule: SnapshotSchedule(everyEntries: 100, everySeconds: 600), coveredHeight: nil, coveredEntries: 0,
            committedEntries: 1_000, now: 50)
        #expect(long.isDue(now: 50))
        let short = SnapshotTrigger(
            schedule: SnapshotSchedule(everyEntries: 100, everySeconds: 600), coveredHeight: 7, coveredEntries: 990,
            committedEntries: 1_000, now: 50)
        #expect(!short.isDue(now: 50))
        #expect(short.nextDeadline() == 650)
    }

    @Test("given a snapshot that failed to write, then nothing counts as covered and the next attempt waits for the retry delay")
    func failureIsRetriedLater() {
        var trigger = SnapshotTrigger(
            schedule: SnapshotSchedule(everyEntries: 10, everySeconds: 0, retrySeconds: 30), coveredHeight: nil,
            coveredEntries: 0, committedEntries: 0, now: 0)
        trigger.committed(entries: 12, now: 1)
        trigger.started(entries: 12)
        trigger.finished(height: 2, succeeded: false, now: 5)
        #expect(trigger.coveredHeight == nil)
        #expect(trigger.coveredEntries == 0)
        #expect(!trigger.isDue(now: 34))
        #expect(trigger.nextDeadline() == 35)
        #expect(trigger.isDue(now: 35))
    }
}

@Suite("Periodic snapshots of a running node", .serialized)
struct PeriodicSnapshotTests {
    @Test("given a node that snapshots every 3 entries, when it has committed grants, records, a revoke and audited queries, then snapshots appear while it runs; a copy of its data directory taken then (what a crash leaves) starts from the newest one with the state a full replay rebuilds; with the newest damaged, from the one before")
    func snapshotsWhileRunningAndRestartFromThem() async throws {
        let node = try await LedgerTestNode { $0.snapshots = SnapshotSchedule(everyEntries: 3, everySeconds: 0) }
        let patient = LedgerIdentity.generate()
        let clinician = LedgerIdentity.generate(.ecdsaP256)
        let patientClient = try node.client(patient)
        let clinicianClient = try node.client(clinician)
        let snapshots = node.directory + "/data/snapshots"

        _ = try await patientClient.write(
            patient: patient.id, category: .labs, content: Array("k 4.1".utf8), mediaType: "text/plain")
        let granted = try await patientClient.grant(.permit(to: clinician.id, actions: [.read], categories: [.labs]))
        _ = try await clinicianClient.query(.of(patient.id, [.labs]))
        _ = try await patientClient.revoke(grantID: granted.grantId)
        // One block at a time, until the writer thread has left two snapshots behind (it keeps the newest two).
        var written = 0
        while Self.snapshotFiles(in: snapshots).count < 2 && written < 200 {
            _ = try await patientClient.grant(.permit(to: clinician.id, actions: [.read], categories: [.vitals]))
            written += 1
            if Self.snapshotFiles(in: snapshots).count < 2 { try await Task.sleep(for: .milliseconds(20)) }
        }
        // Nothing commits any more; a snapshot still being written finishes (no ".tmp" left, names stable).
        var files = Self.snapshotFiles(in: snapshots, temporaryToo: true)
        for _ in 0..<50 {
            try await Task.sleep(for: .milliseconds(200))
            let now = Self.snapshotFiles(in: snapshots, temporaryToo: true)
            if now == files && !now.contains(where: { $0.hasSuffix(".tmp") }) { break }
            files = now
        }
        files = Self.snapshotFiles(in: snapshots)
        #expect(files.count == 2, "the running node wrote no two snapshots after \(written) more grants")

        // Copy the snapshots first and the block log last, as a crash leaves them: the log is never behind them.
        let crashed = try Self.copyDataDirectory(node.directory + "/data")
        let noSnapshots = try Self.copyDataDirectory(node.directory + "/data")
        let damaged = try Self.copyDataDirectory(node.directory + "/data")
        defer { for copy in [crashed, noSnapshots, damaged] { try? FileManager.default.removeItem(atPath: copy) } }
        await node.stop()
        try FileManager.default.removeItem(atPath: noSnapshots + "/snapshots")
        let newest = try #require(Self.snapshotFiles(in: damaged + "/snapshots").last)
        let newestPath = damaged + "/snapshots/" + newest
        var bytes = try #require(FileManager.default.contents(atPath: newestPath))
        bytes[bytes.count / 2] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: newestPath))

        let fromSnapshot = try Self.openState(crashed)
        let replayed = try Self.openState(noSnapshots)
        let fallenBack = try Self.openState(damaged)
        let heights = files.compactMap { UInt64($0.dropFirst("snapshot-".count).dropLast(".bin".count)) }
        #expect(fromSnapshot.recovery.snapshotHeight == heights.last)
        #expect(replayed.recovery.snapshotHeight == nil)
        #expect(fallenBack.recovery.snapshotHeight == heights.first)
        #expect(fromSnapshot.recovery.entries == replayed.recovery.entries)
        let fromSnapshotMatches = fromSnapshot.state == replayed.state
        let fallenBackMatches = fallenBack.state == replayed.state
        #expect(fromSnapshotMatches, "the state from the snapshot differs from a full replay's")
        #expect(fallenBackMatches, "the state from the older snapshot differs from a full replay's")
    }

    /// The recovery of a node opened on `directory`, and its state encoded as a snapshot (equal bytes, equal state).
    static func openState(_ directory: String) throws -> (recovery: LedgerNode.Recovery, state: [UInt8]) {
        var logger = Logger(label: "periodic-snapshot-test")
        logger.logLevel = .error
        let node = try LedgerNode.open(
            LedgerNodeConfiguration(
                dataDirectory: directory, chainID: "test-chain", snapshots: SnapshotSchedule(everyEntries: 0, everySeconds: 0)),
            logger: logger)
        let state = node.runtime.cell.read { $0.snapshot().serializedBytes() }
        node.close()
        return (node.recovery, state)
    }

    static func snapshotFiles(in directory: String, temporaryToo: Bool = false) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("snapshot-") && ($0.hasSuffix(".bin") || (temporaryToo && $0.hasSuffix(".tmp"))) }
            .sorted()
    }

    static func copyDataDirectory(_ source: String) throws -> String {
        let copy = try LedgerTestNode.makeTemporaryDirectory()
        let manager = FileManager.default
        let names = try manager.contentsOfDirectory(atPath: source).sorted { first, _ in first == "snapshots" }
        for name in names where name != "blocks.log" {
            try manager.copyItem(atPath: source + "/" + name, toPath: copy + "/" + name)
        }
        try manager.copyItem(atPath: source + "/blocks.log", toPath: copy + "/blocks.log")
        return copy
    }
}
