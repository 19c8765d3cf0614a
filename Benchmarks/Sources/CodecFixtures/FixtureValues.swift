/// The field values every benchmark case encodes, defined once so both codecs get exactly the same input.
///
/// Sizes follow proto/healthledger/v1: principal ids are 41 characters (identity.proto), record, grant and
/// transaction ids 64 lowercase hex characters, content hashes 32 bytes (SHA-256).
enum FixtureValues {
    static let auditSequence: UInt64 = 1_048_577
    static let auditTimeUnixMs: Int64 = 1_764_160_245_123
    static let actor = "hl15feryxhrdz9m6y09mr8wrerwzgj6f8ntxvhxyr"
    static let patient = "hl1dlm5aahn0t09nl4ujy8624fl6zy54klay937yr"
    static let firstRecordId = "9e9cb0eb53f16947ccf25ec84d8dbc74254770f58904dba41ecccc3fc1626e53"
    static let secondRecordId = "a13043b026c48bbf33feff9243a8f506b40928b5b7a767c76fb008f86bebb273"
    static let decidingGrantId = "7f6a6f0fb23c6f5da2cec255404e4fb440034d6608697a8d41bed440e50454f3"
    static let emergencyAccessId = "1af3176813e02ea68ef786e4d3cea27d26934b484e73cf575dcad6ba2b0aee0c"
    static let firstContentHash = pseudoRandomBytes(count: 32, seed: 1)
    static let secondContentHash = pseudoRandomBytes(count: 32, seed: 2)
    static let reason =
        "PERMIT grant 7f6a6f0f covers DATA_CATEGORY_LABS, DATA_CATEGORY_MEDICATIONS and DATA_CATEGORY_IMAGING "
        + "for PURPOSE_TREATMENT; emergency access opened by the on-call clinician"
    static let blockHeight: UInt64 = 48_213
    static let entryIndex: UInt64 = 3_911_204

    /// One Write upload chunk: 64 KiB, the fourth chunk of its record.
    static let chunkByteCount = 64 * 1024
    static let chunkData = pseudoRandomBytes(count: chunkByteCount, seed: 3)
    static let chunkOffsetBytes: UInt64 = 3 * 64 * 1024

    /// Deterministic bytes that look random (xorshift64*), so content doesn't compress or repeat.
    static func pseudoRandomBytes(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return UInt8(truncatingIfNeeded: (state &* 0x2545_F491_4F6C_DD1D) >> 56)
        }
    }
}
