// swift-tools-version: 6.1
// HealthLedger: a patient-controlled access-control ledger for health data, served over gRPC.
import PackageDescription

let package = Package(
    name: "HealthLedger",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ProtobufWire", targets: ["ProtobufWire"]),
        .library(name: "RPCCore", targets: ["RPCCore"]),
        .library(name: "HealthLedgerProtos", targets: ["HealthLedgerProtos"]),
        .library(name: "GRPCProtos", targets: ["GRPCProtos"]),
        .library(name: "EtcdProtos", targets: ["EtcdProtos"]),
        .library(name: "GRPCProtocol", targets: ["GRPCProtocol"]),
        .library(name: "HTTP2Transport", targets: ["HTTP2Transport"]),
        .library(name: "GRPCStandardServices", targets: ["GRPCStandardServices"]),
        .library(name: "GRPCStatusDetails", targets: ["GRPCStatusDetails"]),
        .library(name: "GRPCObservability", targets: ["GRPCObservability"]),
        .library(name: "ProtoCodegen", targets: ["ProtoCodegen"]),
        .library(name: "LedgerCrypto", targets: ["LedgerCrypto"]),
        .library(name: "MerkleLog", targets: ["MerkleLog"]),
        .library(name: "AccessPolicy", targets: ["AccessPolicy"]),
        .library(name: "LedgerDomain", targets: ["LedgerDomain"]),
        .library(name: "LedgerStorage", targets: ["LedgerStorage"]),
        .library(name: "LedgerNode", targets: ["LedgerNode"]),
        .library(name: "FHIRMapping", targets: ["FHIRMapping"]),
        .library(name: "HealthLedgerClient", targets: ["HealthLedgerClient"]),
        .library(name: "EtcdClient", targets: ["EtcdClient"]),
        .executable(name: "healthledger", targets: ["healthledger"]),
        .executable(name: "healthledger-protoc", targets: ["healthledger-protoc"]),
        .executable(name: "interop-server", targets: ["interop-server"]),
        .executable(name: "interop-client", targets: ["interop-client"]),
        .executable(name: "echo-bench-server", targets: ["echo-bench-server"]),
        .executable(name: "ledger-bench", targets: ["ledger-bench"]),
        .executable(name: "proof-bench", targets: ["proof-bench"]),
        .executable(name: "fhir-inspector-bench", targets: ["fhir-inspector-bench"]),
        .executable(name: "ledger-client-example", targets: ["ledger-client-example"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
    ],
    targets: [
        // Protobuf wire runtime: varint/zigzag/fixed/length-delimited codecs, decode limits.
        .target(name: "ProtobufWire"),
        // Transport-agnostic RPC model: status codes, errors, metadata, method handlers, call helpers.
        .target(name: "RPCCore", dependencies: ["ProtobufWire"]),
        // Generated from proto/healthledger/v1 (do not edit; run scripts/regenerate).
        .target(name: "HealthLedgerProtos", dependencies: ["ProtobufWire", "RPCCore"]),
        // Generated from proto/grpc: health, reflection (v1, v1alpha) and the interop TestService.
        .target(name: "GRPCProtos", dependencies: ["ProtobufWire", "RPCCore"]),
        // Generated from proto/etcd: the subset of etcd's v3 API the ledger's replication uses.
        .target(name: "EtcdProtos", dependencies: ["ProtobufWire", "RPCCore"]),

        // C libraries, each behind a thin shim.
        .systemLibrary(
            name: "CNGHTTP2", pkgConfig: "libnghttp2", providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CLinuxEvents"),
        // glibc's malloc_trim, so the node hands a snapshot's freed buffers back to the system.
        .systemLibrary(name: "CMalloc"),
        // gRPC over HTTP/2 without I/O: message framing, timeouts, status and metadata headers, compression.
        .target(name: "GRPCProtocol", dependencies: ["ProtobufWire", "RPCCore", "CZlib"]),
        // The HTTP/2 transport: epoll event loops, nghttp2 sessions, TLS; server and client.
        .target(
            name: "HTTP2Transport",
            dependencies: ["RPCCore", "GRPCProtocol", "CNGHTTP2", "COpenSSL", "CLinuxEvents"]),
        // Services every server offers: grpc.health.v1 and grpc.reflection (v1, v1alpha).
        .target(
            name: "GRPCStandardServices", dependencies: ["ProtobufWire", "RPCCore", "GRPCProtos"]),
        // Rich errors: google.rpc.Status with typed details in grpc-status-details-bin.
        .target(name: "GRPCStatusDetails", dependencies: ["ProtobufWire", "RPCCore", "GRPCProtos"]),
        // Logging, metrics and tracing of RPCs as interceptors, after OpenTelemetry's RPC conventions.
        .target(
            name: "GRPCObservability",
            dependencies: [
                "RPCCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]),
        // The ledger, layer by layer (see shared design): crypto and pure logic first, then storage, then the node.
        // Hashes, Ed25519 and ECDSA P-256 signatures, principal ids (Bech32m), AES-256-GCM, randomness; via libcrypto,
        // and libsodium for Ed25519 verification.
        .target(name: "LedgerCrypto", dependencies: ["COpenSSL", "CSodium"]),
        // RFC 9162 Merkle log: tree hashes, inclusion and consistency proofs. Pure.
        .target(name: "MerkleLog", dependencies: ["LedgerCrypto"]),
        // The access-policy engine: deny overrides permit, no permit no access. Pure.
        .target(name: "AccessPolicy"),
        // Transaction validation, ledger state and its transitions, block building. Pure.
        .target(
            name: "LedgerDomain",
            dependencies: ["LedgerCrypto", "MerkleLog", "AccessPolicy", "HealthLedgerProtos", "ProtobufWire", "RPCCore"]),
        // HL7 FHIR R4 at the ledger's edges: grants as Consent, audit events as AuditEvent (IHE BALP), records as
        // resources, patient export Bundles; JSON without Foundation. Pure.
        .target(name: "FHIRMapping", dependencies: ["HealthLedgerProtos", "RPCCore"]),
        // The block log (framed, checksummed, fsynced), encrypted off-chain record content, snapshots.
        .target(name: "LedgerStorage", dependencies: ["LedgerCrypto"]),
        // The patient dashboard (clients/web) embedded as data; generated by scripts/embed-dashboard (do not edit).
        .target(name: "DashboardAssets"),
        // A node: commit pipeline, sessions, audit feed, and the healthledger.v1.Ledger service.
        .target(
            name: "LedgerNode",
            dependencies: [
                "EtcdClient", "EtcdProtos",
                "DashboardAssets", "LedgerDomain", "LedgerStorage", "LedgerCrypto", "MerkleLog", "AccessPolicy", "CMalloc",
                "HealthLedgerProtos", "FHIRMapping",
                "ProtobufWire", "RPCCore", "HTTP2Transport", "GRPCStandardServices", "GRPCObservability", "GRPCProtos",
                "GRPCStatusDetails",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]),
        // The Swift client: identities, transaction signing, sessions, typed calls over the generated stubs.
        .target(
            name: "HealthLedgerClient",
            dependencies: ["HealthLedgerProtos", "LedgerCrypto", "MerkleLog", "ProtobufWire", "RPCCore"]),
        // An etcd v3 client over the generated stubs: typed calls, failover across members, leases kept alive,
        // watches that resume where they broke off.
        .target(name: "EtcdClient", dependencies: ["EtcdProtos", "HTTP2Transport", "RPCCore"]),
        // The healthledger command: serve, and the client commands (keygen, grant, query, audit, verify, ...).
        .executableTarget(
            name: "healthledger",
            dependencies: [
                "LedgerNode", "LedgerDomain", "LedgerCrypto", "HealthLedgerProtos", "RPCCore", "HTTP2Transport",
                "HealthLedgerClient", "MerkleLog", "ProtobufWire", "FHIRMapping", "EtcdClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),

        // The grpc.testing.TestService server used by the cross-language interop tests.
        .executableTarget(
            name: "interop-server",
            dependencies: ["RPCCore", "GRPCProtos", "HTTP2Transport", "GRPCStandardServices"]),
        // The grpc.testing client cases, run against other implementations' interop servers.
        .executableTarget(
            name: "interop-client", dependencies: ["RPCCore", "GRPCProtos", "HTTP2Transport"],
            path: "Sources/interop-client"),
        // Echo server for Benchmarks/grpc/run-grpc-benchmark (side by side with the gRPC C++ reference server).
        .executableTarget(
            name: "echo-bench-server",
            dependencies: ["ProtobufWire", "RPCCore", "HTTP2Transport"],
            path: "Benchmarks/grpc/swift/echo-bench-server"),
        // Load generator for Benchmarks/ledger/run-ledger-benchmark: signed transactions, audited queries and audit
        // streams against a real `healthledger serve` process.
        .executableTarget(
            name: "ledger-bench",
            dependencies: [
                "HealthLedgerClient", "HealthLedgerProtos", "LedgerCrypto", "RPCCore", "HTTP2Transport", "ProtobufWire",
            ],
            path: "Benchmarks/ledger/ledger-bench"),
        // Inclusion proofs per second on one core, as the node makes them for GetInclusionProof (run by hand; see
        // BENCHMARKS.md, "Proofs and verification").
        .executableTarget(
            name: "proof-bench",
            dependencies: ["LedgerDomain", "LedgerCrypto", "MerkleLog", "HealthLedgerProtos", "ProtobufWire"],
            path: "Benchmarks/ledger/proof-bench"),
        // The FHIR content check of Write next to its SHA-256 hashing, MB/s on one thread (run by hand; see
        // BENCHMARKS.md, "FHIR content check").
        .executableTarget(
            name: "fhir-inspector-bench", dependencies: ["FHIRMapping", "LedgerCrypto"],
            path: "Benchmarks/ledger/fhir-inspector-bench"),

        // The client library end to end (grant, write, query, revoke, audit) against a running node; see its README.
        .executableTarget(
            name: "ledger-client-example",
            dependencies: ["HealthLedgerClient", "HealthLedgerProtos", "HTTP2Transport", "RPCCore"],
            path: "Examples/ledger-client", exclude: ["README.md"]),

        // The proto3 code generator: parse -> resolved model -> Swift rendering + descriptors.
        .target(name: "ProtoCodegen", dependencies: ["ProtobufWire"], path: "codegen/Sources/ProtoCodegen"),
        .executableTarget(
            name: "healthledger-protoc", dependencies: ["ProtoCodegen"],
            path: "codegen/Sources/healthledger-protoc"),

        // Test-only: generated code for the wire fixtures (every scalar, map, oneof, recursion).
        .target(
            name: "WireFixtures", dependencies: ["ProtobufWire", "RPCCore"], path: "Tests/WireFixtures",
            exclude: ["proto"]),
        // Test-only tool: decodes and re-encodes messages for the Python differential tests.
        .executableTarget(
            name: "protobuf-roundtrip",
            dependencies: ["ProtobufWire", "HealthLedgerProtos", "GRPCProtos", "EtcdProtos", "WireFixtures"],
            path: "Tests/Tools/protobuf-roundtrip"),

        .testTarget(name: "ProtobufWireTests", dependencies: ["ProtobufWire"]),
        .testTarget(name: "GRPCProtocolTests", dependencies: ["GRPCProtocol", "ProtobufWire", "RPCCore"]),
        .testTarget(
            name: "GRPCStatusDetailsTests",
            dependencies: ["GRPCStatusDetails", "RPCCore", "GRPCProtos", "ProtobufWire"]),
        .testTarget(
            name: "GRPCObservabilityTests",
            dependencies: [
                "GRPCObservability", "RPCCore", "HTTP2Transport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]),
        .testTarget(
            name: "HTTP2TransportTests",
            dependencies: [
                "HTTP2Transport", "RPCCore", "GRPCProtos", "GRPCStandardServices", "GRPCProtocol", "DashboardAssets",
            ]),
        .testTarget(
            name: "GRPCStandardServicesTests",
            dependencies: ["GRPCStandardServices", "GRPCProtos", "HealthLedgerProtos", "RPCCore", "ProtobufWire"]),
        .testTarget(
            name: "ProtoCodegenTests", dependencies: ["ProtoCodegen"],
            exclude: ["Golden"]),
        .testTarget(name: "LedgerCryptoTests", dependencies: ["LedgerCrypto"]),
        .testTarget(name: "MerkleLogTests", dependencies: ["MerkleLog", "LedgerCrypto"]),
        .testTarget(name: "AccessPolicyTests", dependencies: ["AccessPolicy"]),
        .testTarget(
            name: "LedgerDomainTests",
            dependencies: ["LedgerDomain", "LedgerCrypto", "MerkleLog", "AccessPolicy", "HealthLedgerProtos", "ProtobufWire", "RPCCore"]),
        .testTarget(name: "LedgerStorageTests", dependencies: ["LedgerStorage", "LedgerCrypto"]),
        // Golden/ holds the expected FHIR JSON, read by path at run time.
        .testTarget(
            name: "FHIRMappingTests", dependencies: ["FHIRMapping", "HealthLedgerProtos", "RPCCore"], exclude: ["Golden"]),
        .testTarget(
            name: "LedgerNodeTests",
            dependencies: [
                "LedgerNode", "LedgerDomain", "LedgerStorage", "LedgerCrypto", "HealthLedgerProtos", "ProtobufWire",
                "RPCCore", "HTTP2Transport", "HealthLedgerClient", "MerkleLog", "GRPCProtos", "GRPCStatusDetails",
                "FHIRMapping", "EtcdClient", "EtcdTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "HealthLedgerClientTests",
            dependencies: ["HealthLedgerClient", "HealthLedgerProtos", "LedgerCrypto", "MerkleLog", "ProtobufWire"]),
        // Against real etcd servers (Debian's etcd-server) started by the tests.
        .testTarget(
            name: "EtcdClientTests",
            dependencies: ["EtcdClient", "EtcdProtos", "EtcdTestSupport", "HTTP2Transport", "RPCCore"]),
        // Real etcd servers for the tests of the etcd client and of the cluster mode.
        .target(name: "EtcdTestSupport", dependencies: ["EtcdClient", "HTTP2Transport"], path: "Tests/EtcdTestSupport"),
        .testTarget(
            name: "GeneratedCodeTests",
            dependencies: ["ProtobufWire", "RPCCore", "HealthLedgerProtos", "GRPCProtos", "WireFixtures"]),
    ],
    swiftLanguageModes: [.v6]
)

// The libFuzzer targets (Fuzz/), only when scripts/fuzz builds them with `--sanitize=fuzzer`: they have no main of
// their own (libFuzzer's is linked in), so the ordinary build must not see them.
if Context.environment["HEALTHLEDGER_FUZZ"] == "1" {
    package.targets += [
        // Every generated message type: decode, re-encode, decode again, compare.
        .executableTarget(
            name: "fuzz-protobuf-decode", dependencies: ["ProtobufWire", "HealthLedgerProtos", "GRPCProtos"],
            path: "Fuzz/Sources/fuzz-protobuf-decode"),
        // Raw bytes into one HTTP/2 + gRPC server connection that routes to a real node's Ledger service.
        .executableTarget(
            name: "fuzz-server-connection",
            dependencies: [
                "LedgerNode", "HTTP2Transport", "RPCCore", "GRPCStandardServices", "GRPCObservability", "GRPCProtos",
                "HealthLedgerProtos", .product(name: "Logging", package: "swift-log"),
            ],
            path: "Fuzz/Sources/fuzz-server-connection"),
        // .proto text into the generator's parser, resolver, descriptor builder and renderers.
        .executableTarget(
            name: "fuzz-proto-parser", dependencies: ["ProtoCodegen"], path: "Fuzz/Sources/fuzz-proto-parser"),
        // FHIR content, whole and in chunks, through Write's streaming check, against FHIRJSONParser's verdict.
        .executableTarget(
            name: "fuzz-fhir-content", dependencies: ["FHIRMapping"], path: "Fuzz/Sources/fuzz-fhir-content"),
    ]
}
