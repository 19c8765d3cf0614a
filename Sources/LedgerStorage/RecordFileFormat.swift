import LedgerCrypto

/// The layout of an encrypted record content file (docs/DATA_DIRECTORY.md, "records/"):
///
/// ```
/// header  "HLREC001" | version 0x01 | nonce prefix (8 random bytes)
///         | sealed address: AES-256-GCM(sha256 (32) | size u64 LE (8)), nonce = prefix | FFFFFFFF,
///           aad = "HLREC001" | 0x01 | "address" | patient id               (8 + 1 + 8 + 40 + 16 = 73 bytes)
/// segment i (i = 0 ..< n): AES-256-GCM(plaintext segment i) | tag,  nonce = prefix | i (u32 BE),
///           aad = i (u32 BE) | final flag (1 byte, 1 on the last segment) | patient id
/// ```
///
/// Plaintext is cut into 1 MiB segments, the last one shorter (n = max(1, ceil(size / 1 MiB)); empty content is one
/// empty final segment). Reading the header first binds the file to its address (hash and size) before any byte is
/// released; the segment index in the nonce and aad detects reordering, the final flag truncation at a segment
/// boundary, the patient id in every aad a file moved to another patient.
enum RecordFileFormat {
    static let magic: [UInt8] = Array("HLREC001".utf8)
    static let version: UInt8 = 1
    static let noncePrefixSize = 8
    /// Plaintext bytes per segment (all but the last).
    static let segmentSize = 1 << 20
    static let tagSize = 16
    /// The plaintext of the sealed address: SHA-256 and size.
    static let addressSize = 32 + 8
    static let headerSize = magic.count + 1 + noncePrefixSize + addressSize + tagSize
    /// The nonce counter of the sealed address; segment counters stay below it.
    static let addressCounter = UInt32.max
    /// The most segments a file can have: every counter but the address's.
    static let maxSegmentCount = UInt64(UInt32.max)

    /// The nonce of segment (or address) `counter`: the file's prefix, then the counter big-endian.
    static func nonce(prefix: [UInt8], counter: UInt32) -> [UInt8] {
        prefix + [
            UInt8(counter >> 24), UInt8(truncatingIfNeeded: counter >> 16),
            UInt8(truncatingIfNeeded: counter >> 8), UInt8(truncatingIfNeeded: counter),
        ]
    }

    /// The authenticated data of segment `index`.
    static func segmentAAD(index: UInt32, isFinal: Bool, patient: String) -> [UInt8] {
        [
            UInt8(index >> 24), UInt8(truncatingIfNeeded: index >> 16), UInt8(truncatingIfNeeded: index >> 8),
            UInt8(truncatingIfNeeded: index), isFinal ? 1 : 0,
        ] + Array(patient.utf8)
    }

    /// The authenticated data of the sealed address.
    static func addressAAD(patient: String) -> [UInt8] {
        magic + [version] + Array("address".utf8) + Array(patient.utf8)
    }

    /// How many segments content of `size` bytes has.
    static func segmentCount(contentSize size: UInt64) -> UInt64 {
        max(1, (size + UInt64(segmentSize) - 1) / UInt64(segmentSize))
    }

    /// The length of the file holding content of `size` bytes.
    static func fileSize(contentSize size: UInt64) -> UInt64 {
        UInt64(headerSize) + size + UInt64(tagSize) * segmentCount(contentSize: size)
    }

    /// `value` as 8 little-endian bytes.
    static func littleEndianBytes(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    /// The UInt64 in the 8 little-endian bytes of `bytes`.
    static func littleEndianValue(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
}

/// A patient's wrapped data key file, `keys/<patient>.key` (68 bytes):
/// `"HLKEY001" | nonce (12 random bytes) | AES-256-GCM(data key (32)) | tag (16)`, sealed with the node's master key
/// and aad = "healthledger.v1.data-key" | patient id.
enum DataKeyFile {
    static let magic: [UInt8] = Array("HLKEY001".utf8)
    static let size = magic.count + AES256GCM.nonceByteCount + AES256GCM.keyByteCount + AES256GCM.tagByteCount

    static func aad(patient: String) -> [UInt8] { Array("healthledger.v1.data-key".utf8) + Array(patient.utf8) }

    /// The file bytes wrapping `dataKey` for `patient`.
    static func encode(dataKey: [UInt8], patient: String, masterKey: AES256GCM) -> [UInt8] {
        let nonce = SecureRandom.bytes(AES256GCM.nonceByteCount)
        return magic + nonce + masterKey.seal(dataKey, nonce: nonce, authenticating: aad(patient: patient))
    }

    /// The data key in file bytes `file`, or `.dataLoss` naming `path` when they are damaged or do not open with
    /// `masterKey`.
    static func decode(_ file: [UInt8], patient: String, masterKey: AES256GCM, path: String) throws(StorageError)
        -> [UInt8]
    {
        guard file.count == size, Array(file.prefix(magic.count)) == magic else {
            throw StorageError.dataLoss("data key file \(path): \(file.count) bytes, not a HealthLedger data key")
        }
        let nonceEnd = magic.count + AES256GCM.nonceByteCount
        do throws(AES256GCM.AuthenticationFailure) {
            return try masterKey.open(
                Array(file[nonceEnd...]), nonce: Array(file[magic.count..<nonceEnd]),
                authenticating: aad(patient: patient))
        } catch {
            throw StorageError.dataLoss(
                "data key file \(path): does not open with this node's master key (wrong master key, or altered)")
        }
    }
}
