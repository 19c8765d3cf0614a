// swift-tools-version: 6.1
// Codec benchmarks: our protobuf runtime (ProtobufWire + HealthLedgerProtos) against apple/swift-protobuf
// on the same schema. A package of its own so the main build never pulls in benchmark or swift-protobuf.
// Run: Benchmarks/run-codec-benchmarks (see README.md).
import PackageDescription

let package = Package(
    name: "HealthLedgerBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, so target dependencies don't depend on the folder the repository was cloned into.
        .package(name: "HealthLedger", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
    ],
    targets: [
        // swift-protobuf's generated code for proto/healthledger/v1 (README.md says how it was made).
        .target(
            name: "SwiftProtobufModels",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        // The benchmark inputs, as both libraries' types, checked to encode to the same bytes.
        .target(
            name: "CodecFixtures",
            dependencies: [
                .product(name: "ProtobufWire", package: "HealthLedger"),
                .product(name: "HealthLedgerProtos", package: "HealthLedger"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                "SwiftProtobufModels",
            ]
        ),
        .executableTarget(
            name: "CodecBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ProtobufWire", package: "HealthLedger"),
                .product(name: "HealthLedgerProtos", package: "HealthLedger"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                "SwiftProtobufModels",
                "CodecFixtures",
            ],
            path: "Benchmarks/CodecBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // One operation in a loop, for callgrind/perf (no harness in the profile).
        .executableTarget(
            name: "codec-profile-driver",
            dependencies: [
                .product(name: "HealthLedgerProtos", package: "HealthLedger"),
                "SwiftProtobufModels",
                "CodecFixtures",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
