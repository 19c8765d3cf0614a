// protobuf-roundtrip: decodes and re-encodes protobuf messages for the Python interop tests
// (Tests/Interop), so they can compare our wire bytes with another implementation's.
//
// Usage:
//   protobuf-roundtrip               requests on stdin, responses on stdout (binary, batch)
//   protobuf-roundtrip --as-empty    decode every payload as grpc.testing.Empty (all fields unknown)
//   protobuf-roundtrip --list-types  print every registered message name, one per line
//   protobuf-roundtrip --descriptors print one record (path, FileDescriptorProto bytes) per generated file
//
// Request record:  u32 LE name length, type name UTF-8, u32 LE payload length, payload.
// Response record: status byte (0 ok, 1 decode error, 2 unknown type), u32 LE length, re-encoded bytes or
// error text. Every request gets exactly one response, in order.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The message every payload is decoded as with `--as-empty`: it has no fields, so everything is unknown.
let emptyMessageName = "grpc.testing.Empty"

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments {
case []:
    answer { RoundTrip.run(typeName: $0, payload: $1) }
case ["--as-empty"]:
    guard let empty = MessageRegistry.typesByName[emptyMessageName] else {
        StandardStreams.writeError("protobuf-roundtrip: \(emptyMessageName) is not registered")
        exit(2)
    }
    answer { _, payload in RoundTrip.run(empty, payload: payload) }
case ["--list-types"]:
    let names = MessageRegistry.typesByName.keys.sorted()
    StandardStreams.writeOutput(Array(names.map { $0 + "\n" }.joined().utf8))
case ["--descriptors"]:
    var output: [UInt8] = []
    for file in MessageRegistry.files {
        RecordFraming.appendField(Array(file.path.utf8), to: &output)
        RecordFraming.appendField(file.serializedDescriptor, to: &output)
    }
    StandardStreams.writeOutput(output)
default:
    StandardStreams.writeError("usage: protobuf-roundtrip [--as-empty | --list-types | --descriptors] < requests")
    exit(2)
}

/// Reads the whole request batch, answers every record with `handle`, and writes the responses.
func answer(_ handle: (String, [UInt8]) -> RoundTrip.Outcome) {
    let requests: [(typeName: String, payload: [UInt8])]
    do {
        requests = try RecordFraming.requests(in: StandardStreams.readAllInput())
    } catch {
        StandardStreams.writeError("protobuf-roundtrip: \(error)")
        exit(3)
    }
    var output: [UInt8] = []
    for request in requests {
        let outcome = handle(request.typeName, request.payload)
        RecordFraming.appendResponse(status: outcome.status, body: outcome.body, to: &output)
    }
    StandardStreams.writeOutput(output)
}
