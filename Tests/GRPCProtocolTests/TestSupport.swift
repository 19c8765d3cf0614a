@testable import GRPCProtocol
import ProtobufWire
import RPCCore
import Testing

/// Bytes written as hex pairs ("00 00 00 00 03"), so frames read like the spec's layout.
func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.utf8.filter { $0 != UInt8(ascii: " ") })
    precondition(digits.count % 2 == 0, "odd number of hex digits in \(text)")
    return stride(from: 0, to: digits.count, by: 2).map {
        UInt8(String(decoding: digits[$0..<($0 + 2)], as: UTF8.self), radix: 16)!
    }
}

/// Bytes from base64 text (the embedded Python vectors).
func base64(_ text: String) -> [UInt8] {
    Base64.decodeIfValid(text)!
}

/// A small deterministic generator (SplitMix64), so "random" splits are the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Deterministic message bodies of a given length.
func sampleMessage(length: Int, seed: Int = 0) -> [UInt8] {
    (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 7 &+ 1) }
}

/// The RPCError `body` throws, or nil if it returns (any other error fails the test).
func caughtError<T>(_ body: () throws -> T) -> RPCError? {
    do {
        _ = try body()
        return nil
    } catch let error as RPCError {
        return error
    } catch {
        Issue.record("expected an RPCError, got \(error)")
        return nil
    }
}

extension GRPCMessageDeframer {
    /// Every message available now.
    mutating func drain() throws(RPCError) -> [[UInt8]] {
        var messages: [[UInt8]] = []
        while let message = try nextMessage() { messages.append(message) }
        return messages
    }
}

/// The value of the first field called `name`.
func value(_ name: String, in fields: [HeaderField]) -> String? {
    fields.first { $0.name == name }?.value
}
