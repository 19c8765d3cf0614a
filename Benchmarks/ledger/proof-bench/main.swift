// Inclusion proofs per second on one core, as the node makes them for GetInclusionProof, over a ledger state of
// --entries entries in blocks of --entries-per-block (default: a million entries in 200,000 blocks, the shape a
// million-grant fill leaves). Run by hand (release build); see BENCHMARKS.md, "Proofs and verification".
//
//   swift build -c release --product proof-bench && .build/release/proof-bench [--entries N] [--entries-per-block B]
//       [--proofs P] [--repeats R]
//
// Prints one RESULT line per phase and repeat:
//   tree       MerkleTree.inclusionProof(leafIndex:treeSize:) for a random leaf at the full size: the Merkle work alone;
//   node-path  what LedgerService.getInclusionProof does under the state's read lock (the block ending at the
//              requested tree size found by binary search over the block table's rows, its checkpoint decoded, the
//              proof, the response message), plus encoding the response as the transport does; the tree size asked is
//              that of a random block's end. The node keeps only the head's checkpoint in its state and reads older
//              ones back from the block log through a cache of decoded blocks; here every checkpoint is decoded
//              from its bytes in memory, as a read of a block not in that cache would after its pread;
//   node-path-latest  the same against the latest checkpoint (a request without tree_size);
//   entry-proof  what LedgerRuntime.entryProof does for every transaction receipt (and audit event on request): a
//              random entry's inclusion proof against the checkpoint at the end of its own block, with that
//              checkpoint, encoded as an EntryProof message.
// Rates are per second of wall time and, in cpu_proofs_per_s, per second of this thread's CPU time (which other
// processes on a busy machine take less from).
import Foundation
import Glibc
import HealthLedgerProtos
import LedgerCrypto
import LedgerDomain
import MerkleLog
import ProtobufWire

func option(_ name: String, _ fallback: Int) -> Int {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count, let value = Int(arguments[index + 1])
    else { return fallback }
    return value
}

let entryCount = option("--entries", 1_000_000)
let entriesPerBlock = option("--entries-per-block", 5)
let proofCount = option("--proofs", 1_000_000)
let repeats = option("--repeats", 5)

/// A xorshift generator: the same leaves every run, and no locking or system call per draw.
struct Xorshift {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    mutating func next(below bound: UInt64) -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state % bound
    }
}

/// The ledger state, and every block's encoded signed checkpoint by position (what the node reads back from its
/// block log).
func buildState() -> (LedgerState, [[UInt8]]) {
    var checkpoints: [[UInt8]] = []
    var state = LedgerState(chainID: "proof-bench")
    let sealer = BlockSealer(nodeKey: SigningPrivateKey.generate(.ed25519))
    let rules = LedgerRules()
    var event = Healthledger_V1_AuditEvent()
    event.actor = "hl1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
    event.patient = "hl1zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
    event.action = .read
    event.outcome = .allowed
    var time: Int64 = 1_790_000_000_000
    var added = 0
    while added < entryCount {
        time += 1
        var draft = BlockDraft(after: state, time: time, rules: rules)
        for _ in 0..<min(entriesPerBlock, entryCount - added) {
            event.timeUnixMs = time
            draft.appendAudit(event, salt: SecureRandom.bytes(16))
            added += 1
        }
        let (summary, _) = sealer.seal(draft, onto: &state)
        checkpoints.append(summary.checkpoint.serializedBytes())
        state.commit(draft, summary: summary)
    }
    return (state, checkpoints)
}

/// The handler's work: LedgerService.getInclusionProof and LedgerService.checkpoint(treeSize:field:in:) step by step.
func nodePathProof(leafIndex: UInt64, treeSize requested: UInt64, in state: LedgerState) -> [UInt8] {
    let low = state.blocks.position(endingAt: requested)!
    precondition(leafIndex < requested)
    var proof = Healthledger_V1_InclusionProof()
    proof.leafIndex = leafIndex
    proof.treeSize = requested
    proof.auditPath = try! state.tree.inclusionProof(leafIndex: leafIndex, treeSize: requested)
    var response = Healthledger_V1_GetInclusionProofResponse()
    response.proof = proof
    response.checkpoint = try! Healthledger_V1_SignedCheckpoint(serializedBytes: checkpoints[low])
    return response.serializedBytes()
}

/// LedgerRuntime.entryProof(entryIndex:blockHeight:in:) step by step, encoded as a receipt carries it.
func entryProof(entryIndex: UInt64, blockHeight: UInt64, in state: LedgerState) -> [UInt8] {
    let position = Int(blockHeight) - 1
    precondition(state.blocks.entryRange(at: position).contains(entryIndex))
    let treeSize = state.blocks.entryRange(at: position).upperBound
    var inclusion = Healthledger_V1_InclusionProof()
    inclusion.leafIndex = entryIndex
    inclusion.treeSize = treeSize
    inclusion.auditPath = try! state.tree.inclusionProof(leafIndex: entryIndex, treeSize: treeSize)
    var proof = Healthledger_V1_EntryProof()
    proof.inclusion = inclusion
    proof.checkpoint = try! Healthledger_V1_SignedCheckpoint(serializedBytes: checkpoints[position])
    return proof.serializedBytes()
}

/// CPU seconds this thread has used.
func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

let buildStart = ContinuousClock.now
let (state, checkpoints) = buildState()
print("built \(state.treeSize) entries in \(state.height) blocks in \(ContinuousClock.now - buildStart)")
let size = state.tree.size

func measure(_ phase: String, _ body: (inout Xorshift) -> Int) {
    var rates: [Double] = []
    var cpuRates: [Double] = []
    for repeatIndex in 1...repeats {
        var random = Xorshift()
        let start = ContinuousClock.now
        let cpuStart = threadCPUSeconds()
        var sink = 0
        for _ in 0..<proofCount { sink &+= body(&random) }
        let cpuSeconds = threadCPUSeconds() - cpuStart
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = Double(proofCount) / seconds
        rates.append(rate)
        cpuRates.append(Double(proofCount) / cpuSeconds)
        print(
            "RESULT phase=\(phase) repeat=\(repeatIndex) proofs=\(proofCount) seconds=\(String(format: "%.3f", seconds)) "
                + "proofs_per_s=\(Int(rate)) us_per_proof=\(String(format: "%.3f", 1e6 / rate)) "
                + "cpu_proofs_per_s=\(Int(cpuRates.last!)) check=\(sink & 0xff)")
    }
    let sorted = rates.sorted()
    let cpuSorted = cpuRates.sorted()
    print(
        "SUMMARY phase=\(phase) min_proofs_per_s=\(Int(sorted.first!)) median_proofs_per_s=\(Int(sorted[sorted.count / 2])) "
            + "max_proofs_per_s=\(Int(sorted.last!)) min_cpu_proofs_per_s=\(Int(cpuSorted.first!)) "
            + "median_cpu_proofs_per_s=\(Int(cpuSorted[cpuSorted.count / 2]))")
}

measure("tree") { random in
    let path = try! state.tree.inclusionProof(leafIndex: random.next(below: size), treeSize: size)
    return path.count
}
measure("node-path") { random in
    let block = Int(random.next(below: UInt64(state.blocks.count)))
    let treeSize = state.blocks.entryRange(at: block).upperBound
    return nodePathProof(leafIndex: random.next(below: treeSize), treeSize: treeSize, in: state).count
}
measure("node-path-latest") { random in
    nodePathProof(leafIndex: random.next(below: size), treeSize: size, in: state).count
}
measure("entry-proof") { random in
    let block = Int(random.next(below: UInt64(state.blocks.count)))
    let entries = state.blocks.entryRange(at: block)
    let entry = entries.lowerBound + random.next(below: UInt64(entries.count))
    return entryProof(entryIndex: entry, blockHeight: UInt64(block + 1), in: state).count
}
