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
        .library(name: "ProtoCodegen", targets: ["ProtoCodegen"]),
        .executable(name: "healthledger-protoc", targets: ["healthledger-protoc"]),
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
            dependencies: ["ProtobufWire", "HealthLedgerProtos", "GRPCProtos", "WireFixtures"],
            path: "Tests/Tools/protobuf-roundtrip"),

        .testTarget(name: "ProtobufWireTests", dependencies: ["ProtobufWire"]),
        .testTarget(
            name: "ProtoCodegenTests", dependencies: ["ProtoCodegen"],
            exclude: ["Golden"]),
        .testTarget(
            name: "GeneratedCodeTests",
            dependencies: ["ProtobufWire", "RPCCore", "HealthLedgerProtos", "GRPCProtos", "WireFixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
