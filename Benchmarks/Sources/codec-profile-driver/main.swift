// Runs one codec operation in a loop, for profilers (valgrind --tool=callgrind, perf record) that want a
// plain process rather than the benchmark harness. Same cases and values as CodecBenchmarks.
//
//   codec-profile-driver <audit|write> <encode|decode> <ours|swift-protobuf> [iterations]

import CodecFixtures
import Foundation
import HealthLedgerProtos
import SwiftProtobufModels

/// Keeps a result alive so the optimizer can't drop the work that produced it.
@inline(never) @_optimize(none)
func sink<T>(_ value: T) {}

let arguments = CommandLine.arguments
guard arguments.count >= 4 else {
    print("usage: codec-profile-driver <audit|write> <encode|decode> <ours|swift-protobuf> [iterations]")
    exit(2)
}
let iterations = arguments.count > 4 ? Int(arguments[4]) ?? 100_000 : 100_000
let audit = CodecCases.auditEvent
let write = CodecCases.writeRequest64KiB

switch (arguments[1], arguments[2], arguments[3]) {
case ("audit", "encode", "ours"):
    for _ in 0..<iterations { sink(audit.ours.serializedBytes()) }
case ("audit", "encode", "swift-protobuf"):
    for _ in 0..<iterations { sink(try! audit.theirs.serializedBytes() as [UInt8]) }
case ("audit", "decode", "ours"):
    for _ in 0..<iterations { sink(try! HealthLedgerProtos.Healthledger_V1_AuditEvent(serializedBytes: audit.encoded)) }
case ("audit", "decode", "swift-protobuf"):
    for _ in 0..<iterations { sink(try! SwiftProtobufModels.Healthledger_V1_AuditEvent(serializedBytes: audit.encoded)) }
case ("write", "encode", "ours"):
    for _ in 0..<iterations { sink(write.ours.serializedBytes()) }
case ("write", "encode", "swift-protobuf"):
    for _ in 0..<iterations { sink(try! write.theirs.serializedBytes() as [UInt8]) }
case ("write", "decode", "ours"):
    for _ in 0..<iterations { sink(try! HealthLedgerProtos.Healthledger_V1_WriteRequest(serializedBytes: write.encoded)) }
case ("write", "decode", "swift-protobuf"):
    for _ in 0..<iterations { sink(try! SwiftProtobufModels.Healthledger_V1_WriteRequest(serializedBytes: write.encoded)) }
default:
    print("unknown case: \(arguments[1...3].joined(separator: " "))")
    exit(2)
}
