// libFuzzer target: the first input byte picks one of the generated message types, the rest is decoded as that
// message. What decodes must survive a round trip: re-encoded and decoded again it is the same message, and both
// encodings have the same length. A mismatch traps, which libFuzzer reports as a crash with the input kept.

import ProtobufWire

/// Decodes `bytes` as `Message`; on success re-encodes, decodes again and traps unless the two messages agree.
func roundTrip<Message: ProtoMessage>(_: Message.Type, _ bytes: UnsafeRawBufferPointer) {
    let first: Message
    do {
        first = try Message(serializedBytes: bytes)
    } catch {
        return
    }
    let encoded = first.serializedBytes()
    let second: Message
    do {
        second = try Message(serializedBytes: encoded)
    } catch {
        fatalError("\(Message.protoMessageName): its own encoding does not decode: \(error)")
    }
    let reencoded = second.serializedBytes()
    // NaN fields make equal messages compare unequal, and map order may differ between two equal messages'
    // encodings: either agreement is enough, their lengths must agree regardless.
    guard first == second || encoded == reencoded else {
        fatalError("\(Message.protoMessageName): the decoded re-encoding differs from the first decoding")
    }
    guard encoded.count == reencoded.count else {
        fatalError("\(Message.protoMessageName): re-encoding changed the length \(encoded.count) -> \(reencoded.count)")
    }
}

/// libFuzzer's entry point: one input, one message type.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProtobufDecode(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let types = GeneratedMessageTypes.all
    let type = types[Int(data[0]) % types.count]
    roundTrip(type, UnsafeRawBufferPointer(start: data + 1, count: size - 1))
    return 0
}
