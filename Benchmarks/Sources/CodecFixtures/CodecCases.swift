import HealthLedgerProtos
import SwiftProtobufModels

/// The benchmark cases, built and verified once per process.
public enum CodecCases {
    /// A representative audit event: every field set, realistic id, hash and text sizes (about 500 bytes).
    public static let auditEvent = CodecCase(
        name: "AuditEvent", ours: OurMessages.auditEvent(), theirs: SwiftProtobufMessages.auditEvent())

    /// One message of a Write upload carrying a 64 KiB content chunk.
    public static let writeRequest64KiB = CodecCase(
        name: "WriteRequest64KiB", ours: OurMessages.writeRequestWithChunk(),
        theirs: SwiftProtobufMessages.writeRequestWithChunk())
}
