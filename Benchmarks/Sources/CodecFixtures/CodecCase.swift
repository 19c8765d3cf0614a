import ProtobufWire
import SwiftProtobuf

/// One benchmark input: the same message as our type and as swift-protobuf's, and the single encoding
/// both codecs must produce for it. Both decoders are measured on exactly `encoded`.
public struct CodecCase<Ours: ProtoMessage, Theirs: SwiftProtobuf.Message & Equatable>: Sendable {
    /// Short name used in benchmark names, e.g. "AuditEvent".
    public let name: String
    /// The message as HealthLedgerProtos' type.
    public let ours: Ours
    /// The message as swift-protobuf's type.
    public let theirs: Theirs
    /// The encoding both codecs produced (checked byte for byte).
    public let encoded: [UInt8]

    /// Builds the case, stopping the process when the codecs disagree: a speed comparison of two codecs
    /// that don't produce and accept the same bytes would compare different work.
    public init(name: String, ours: Ours, theirs: Theirs) {
        self.name = name
        self.ours = ours
        self.theirs = theirs

        let ourBytes = ours.serializedBytes()
        let theirBytes: [UInt8]
        do {
            theirBytes = try theirs.serializedBytes()
        } catch {
            fatalError("\(name): swift-protobuf failed to encode: \(error)")
        }
        guard ourBytes == theirBytes else {
            let firstDifference =
                zip(ourBytes, theirBytes).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                ?? min(ourBytes.count, theirBytes.count)
            fatalError(
                "\(name): encodings differ (ours \(ourBytes.count) bytes, swift-protobuf \(theirBytes.count) bytes, "
                    + "first difference at byte \(firstDifference)); the benchmark would not compare like with like")
        }
        encoded = ourBytes

        do {
            guard try Ours(serializedBytes: encoded) == ours else {
                fatalError("\(name): our decoder does not give back the encoded message")
            }
        } catch {
            fatalError("\(name): our decoder rejected the shared encoding: \(error)")
        }
        do {
            guard try Theirs(serializedBytes: encoded) == theirs else {
                fatalError("\(name): swift-protobuf's decoder does not give back the encoded message")
            }
        } catch {
            fatalError("\(name): swift-protobuf's decoder rejected the shared encoding: \(error)")
        }
    }
}
