// Encode/decode speed and allocations of our protobuf codec (ProtobufWire + HealthLedgerProtos) against
// apple/swift-protobuf, on the same schema (proto/healthledger/v1), the same values and the same bytes.
// Run with Benchmarks/run-codec-benchmarks; results are in BENCHMARKS.md.

import Benchmark
import CodecFixtures
import Foundation
import HealthLedgerProtos
import ProtobufWire
import SwiftProtobuf
import SwiftProtobufModels

let benchmarks: @Sendable () -> Void = {
    // Seconds per benchmark; the run script raises it for published numbers.
    let seconds = Int(ProcessInfo.processInfo.environment["CODEC_BENCH_SECONDS"] ?? "") ?? 3
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        timeUnits: .nanoseconds,
        warmupIterations: 20,
        maxDuration: .seconds(seconds),
        maxIterations: 100_000_000
    )

    // Built and checked here, before any measurement: both encoders must produce the same bytes and both
    // decoders must give back the message from them, or the process stops (see CodecCase.init).
    let audit = CodecCases.auditEvent
    let write = CodecCases.writeRequest64KiB

    // A single AuditEvent takes about a microsecond, so each measured iteration runs a batch of 100 to
    // keep the clock's own cost out of the numbers, yet stays short (0.1-0.3 ms) so that on a busy
    // machine few samples are cut by preemption. The tag names the batch size in every result, and the
    // run script divides by it to give per-message figures.
    let auditBatchSize = 100
    let auditBatch = Benchmark.Configuration(tags: ["batch": "\(auditBatchSize)"])
    // A 64 KiB message takes microseconds: one per iteration.
    let writeBatch = Benchmark.Configuration(tags: ["batch": "1"])

    Benchmark("AuditEvent encode ours", configuration: auditBatch) { _ in
        for _ in 0..<auditBatchSize {
            blackHole(audit.ours.serializedBytes())
        }
    }
    Benchmark("AuditEvent encode swift-protobuf", configuration: auditBatch) { _ in
        for _ in 0..<auditBatchSize {
            blackHole(try! audit.theirs.serializedBytes() as [UInt8])
        }
    }
    Benchmark("AuditEvent decode ours", configuration: auditBatch) { _ in
        for _ in 0..<auditBatchSize {
            blackHole(try! HealthLedgerProtos.Healthledger_V1_AuditEvent(serializedBytes: audit.encoded))
        }
    }
    Benchmark("AuditEvent decode swift-protobuf", configuration: auditBatch) { _ in
        for _ in 0..<auditBatchSize {
            blackHole(try! SwiftProtobufModels.Healthledger_V1_AuditEvent(serializedBytes: audit.encoded))
        }
    }

    Benchmark("WriteRequest64KiB encode ours", configuration: writeBatch) { _ in
        blackHole(write.ours.serializedBytes())
    }
    Benchmark("WriteRequest64KiB encode swift-protobuf", configuration: writeBatch) { _ in
        blackHole(try! write.theirs.serializedBytes() as [UInt8])
    }
    Benchmark("WriteRequest64KiB decode ours", configuration: writeBatch) { _ in
        blackHole(try! HealthLedgerProtos.Healthledger_V1_WriteRequest(serializedBytes: write.encoded))
    }
    Benchmark("WriteRequest64KiB decode swift-protobuf", configuration: writeBatch) { _ in
        blackHole(try! SwiftProtobufModels.Healthledger_V1_WriteRequest(serializedBytes: write.encoded))
    }
}
