import Glibc
import LedgerDomain
import LedgerStorage

/// How a node runs: where its data lives, which chain it serves, and the limits and rules it enforces.
public struct LedgerNodeConfiguration: Sendable {
    /// The data directory (created, mode 0700, when missing); its layout is in docs/DATA_DIRECTORY.md.
    public var dataDirectory: String
    /// The chain id written into every block and expected in every transaction. Fixed when the data directory
    /// is created; a later start with a different id is refused.
    public var chainID: String
    /// Emergency access registration and limits, clock skew.
    public var rules: LedgerRules
    /// Principal ids the operator registered as researchers, who may read the pseudonymised research feed.
    public var researchers: Set<String> = []
    /// Largest record content this node accepts, in bytes (RESOURCE_EXHAUSTED above).
    public var maxRecordBytes: UInt64
    /// The node's clock, milliseconds since the Unix epoch; replaceable in tests.
    public var clock: @Sendable () -> Int64
    /// When the running node writes a state snapshot in the background (besides the one at a clean shutdown).
    public var snapshots: SnapshotSchedule
    /// Calls served per principal and per address before RESOURCE_EXHAUSTED (defaults: 200/s and 100/s).
    public var rateLimits = RateLimits()
    /// The file operations behind every file the node writes or reads in its data directory (block log, record
    /// content, snapshots, keys); replaceable so the fault suite can make the disk fail with ENOSPC or EIO.
    public var fileIO: FileIO = .system
    /// Bytes of committed blocks kept decoded for reads of what the state leaves in the block log (audit events,
    /// record entries, old headers and checkpoints): the newest and most recently read blocks. 0 reads every one back.
    public var blockCacheBytes = 16 << 20
    /// Records one audit event of a FHIR export lists; an export of more is logged as several events. At most
    /// 10,000 (AuditEvent.released_records' limit); lower only to exercise multi-part exports in tests.
    public var exportRecordsPerAuditEvent = 10_000

    /// A configuration with the defaults: chain "healthledger-local", 16 GiB records, the system clock, a snapshot
    /// every 100,000 entries or 10 minutes.
    public init(
        dataDirectory: String, chainID: String = "healthledger-local", rules: LedgerRules = LedgerRules(),
        maxRecordBytes: UInt64 = 16 << 30, clock: @escaping @Sendable () -> Int64 = LedgerNodeConfiguration.systemClock,
        snapshots: SnapshotSchedule = SnapshotSchedule()
    ) {
        self.dataDirectory = dataDirectory
        self.chainID = chainID
        self.rules = rules
        self.maxRecordBytes = maxRecordBytes
        self.clock = clock
        self.snapshots = snapshots
    }

    /// Wall-clock time in milliseconds since the Unix epoch.
    public static let systemClock: @Sendable () -> Int64 = {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
