import Foundation
import HealthLedgerProtos
import LedgerCrypto
import LedgerDomain
import LedgerStorage
import MerkleLog
import Testing

/// `healthledger verify --data-dir` against the data directory of a real node that granted, wrote, answered queries
/// (so audited them) and stopped; then against copies tampered with byte by byte in the documented block log format.
@Suite("verify --data-dir and tampered block logs")
struct DataDirectoryVerifyTests {
    @Test(
        "the untouched directory verifies, with and without transaction signatures, and is left byte for byte as it was"
    )
    func untouchedDirectoryVerifies() throws {
        let fixture = try VerifiedDirectoryFixture.shared.get()
        let before = try fixture.fileContents()
        let plain = fixture.verify(fixture.directory, "--json")
        #expect(plain.status == 0, "\(plain.stderr)")
        let summary = try plain.json()
        #expect(summary["verified"] as? Bool == true)
        #expect(summary["height"] as? Int == fixture.log.blocks.count)
        #expect(summary["tree_size"] as? Int == fixture.log.entryCount)
        #expect(summary["audit_events"] as? Int == 3)
        #expect(
            summary["head_block_hash"] as? String == Hex.encode(SHA256.hash(fixture.log.blocks.last!.header!.header)))
        let withSignatures = try fixture.verify(fixture.directory, "--transactions", "--json").json()
        #expect(withSignatures["transaction_signatures_verified"] as? Int == fixture.log.entryCount - 3)
        let pinned = fixture.verify(fixture.directory, "--node-key-id", try fixture.nodeKeyID())
        #expect(pinned.status == 0 && pinned.stdout.contains("root hash:"), "\(pinned.stderr)")
        #expect(try fixture.fileContents() == before)
    }

    @Test("a flipped byte in a block is caught by the frame checksum, naming the block")
    func flippedByte() throws {
        let fixture = try VerifiedDirectoryFixture.shared.get()
        let height = fixture.log.blocks.count - 1
        var bytes = fixture.log.fileBytes()
        bytes[fixture.log.frameOffsets[height - 1] + 8 + 20] ^= 0x01
        let result = try fixture.verifyTampered(bytes)
        #expect(result.status == 1)
        #expect(result.isOneLineError, "\(result.stderr)")
        #expect(result.stderr.contains("block \(height) (frame at byte \(fixture.log.frameOffsets[height - 1]))"))
        #expect(result.stderr.contains("checksum mismatch"))
    }

    @Test("a flipped byte in an entry with the frame checksum recomputed is caught by the entries root")
    func flippedEntryByteWithChecksumFixed() throws {
        let fixture = try VerifiedDirectoryFixture.shared.get()
        var log = fixture.log
        let (height, offset) = try #require(log.firstTransaction())
        log.blocks[height - 1].entries[offset][log.blocks[height - 1].entries[offset].count - 1] ^= 0x01
        let result = try fixture.verifyTampered(log.fileBytes())
        #expect(result.status == 1)
        #expect(result.stderr.contains("block \(height): entries "), "\(result.stderr)")
        #expect(result.stderr.contains("do not hash to the header's entries root"))
    }

    @Test("two entries swapped between blocks are caught at the first, naming the audit event that moved")
    func reorderedEntries() throws {
        let fixture = try VerifiedDirectoryFixture.shared.get()
        var log = fixture.log
        let (auditHeight, auditOffset) = try #require(log.firstAuditEvent())
        let earlier = try #require((1..<auditHeight).last { log.blocks[$0 - 1].entries.count == 1 })
        let moved = log.blocks[auditHeight - 1].entries[auditOffset]
        log.blocks[auditHeight - 1].entries[auditOffset] = log.blocks[earlier - 1].entries[0]
        log.blocks[earlier - 1].entries[0] = moved
        let result = try fixture.verifyTampered(log.fileBytes())
        #expect(result.status == 1)
        let entryIndex = log.firstEntryIndex(ofBlock: earlier)
        #expect(
            result.stderr.contains("block \(earlier), entry \(entryIndex): audit event says it is entry"),
            "\(result.stderr)")
    }

    @Test(
        "an audit event removed, with entry count, roots, later headers and checksums fixed up, fails the node signature"
    )
    func droppedAuditEvent() throws {
        let fixture = try VerifiedDirectoryFixture.shared.get()
        var log = fixture.log
        let (height, offset) = try #require(log.firstAuditEvent())
        log.blocks[height - 1].entries.remove(at: offset)
        try log.rebuildHeaders(from: height)
        let result = try fixture.verifyTampered(log.fileBytes())
        #expect(result.status == 1)
        #expect(
            result.stderr.contains("block \(height): node signature of the header does not verify"), "\(result.stderr)")
    }

    @Test("an audit event removed and nothing else fixed but the checksum is caught by the entry count")
    func droppedAuditEventNaively() throws {
        let fixture = try VerifiedDirectoryFixture.shared.get()
        var log = fixture.log
        let (height, offset) = try #require(log.firstAuditEvent())
        log.blocks[height - 1].entries.remove(at: offset)
        let result = try fixture.verifyTampered(log.fileBytes())
        #expect(result.status == 1)
        #expect(result.stderr.contains("block \(height): the header counts"), "\(result.stderr)")
    }

    @Test("a whole block removed is caught by the next block's height and hash link")
    func droppedBlock() throws {
        let fixture = try VerifiedDirectoryFixture.shared.get()
        var log = fixture.log
        let (height, _) = try #require(log.firstAuditEvent())
        log.blocks.remove(at: height - 1)
        let result = try fixture.verifyTampered(log.fileBytes())
        #expect(result.status == 1)
        #expect(
            result.stderr.contains("block \(height): height \(height + 1) where \(height) was due"), "\(result.stderr)")
    }

    @Test("a checkpoint re-signed with another key is caught, naming the block")
    func checkpointSignedByAnotherKey() throws {
        let fixture = try VerifiedDirectoryFixture.shared.get()
        var log = fixture.log
        let height = log.blocks.count / 2 + 1
        let forger = SigningPrivateKey.generate(.ed25519)
        var checkpoint = try #require(log.blocks[height - 1].checkpoint)
        checkpoint.signature = forger.signature(
            for: ContextLabel.message(context: ContextLabel.checkpoint, payload: checkpoint.checkpoint))
        checkpoint.nodeKeyId = forger.publicKey.keyID
        log.blocks[height - 1].checkpoint = checkpoint
        let result = try fixture.verifyTampered(log.fileBytes())
        #expect(result.status == 1)
        #expect(result.stderr.contains("block \(height): checkpoint signature does not verify"), "\(result.stderr)")
    }

    @Test("a checkpoint whose root was changed (its signature kept) is caught, naming the block")
    func checkpointWithAnotherRoot() throws {
        let fixture = try VerifiedDirectoryFixture.shared.get()
        var log = fixture.log
        let height = log.blocks.count / 2 + 1
        var signed = try #require(log.blocks[height - 1].checkpoint)
        var checkpoint = try Healthledger_V1_Checkpoint(serializedBytes: signed.checkpoint)
        checkpoint.rootHash = SHA256.hash(Array("another history".utf8))
        signed.checkpoint = checkpoint.serializedBytes()
        log.blocks[height - 1].checkpoint = signed
        let result = try fixture.verifyTampered(log.fileBytes())
        #expect(result.status == 1)
        #expect(result.stderr.contains("block \(height): checkpoint (height \(height)"), "\(result.stderr)")
    }

    @Test("damaged signature bytes on an earlier checkpoint are caught by default, not with --head-signatures-only")
    func damagedCheckpointSignatureBytes() throws {
        let fixture = try VerifiedDirectoryFixture.shared.get()
        var log = fixture.log
        let height = log.blocks.count / 2 + 1
        var signed = try #require(log.blocks[height - 1].checkpoint)
        signed.signature[10] ^= 0x01
        log.blocks[height - 1].checkpoint = signed
        let result = try fixture.verifyTampered(log.fileBytes())
        #expect(result.status == 1)
        #expect(result.stderr.contains("block \(height): checkpoint signature does not verify"), "\(result.stderr)")
        let headOnly = try fixture.verifyTampered(log.fileBytes(), "--head-signatures-only", "--json")
        #expect(headOnly.status == 0, "the content the head's signature vouches for is unchanged: \(headOnly.stderr)")
        #expect(try headOnly.json()["node_signatures_verified"] as? Int == 2)
    }

    @Test(
        "a checkpoint with another root, validly re-signed by the directory's own key, is caught by the recomputed log")
    func checkpointResignedWithTheNodeKey() throws {
        let fixture = try VerifiedDirectoryFixture.shared.get()
        var log = fixture.log
        let nodeKey = try fixture.nodeKey()
        let height = log.blocks.count / 2 + 1
        var signed = try #require(log.blocks[height - 1].checkpoint)
        var checkpoint = try Healthledger_V1_Checkpoint(serializedBytes: signed.checkpoint)
        checkpoint.rootHash = SHA256.hash(Array("another history".utf8))
        signed.checkpoint = checkpoint.serializedBytes()
        signed.signature = nodeKey.signature(
            for: ContextLabel.message(context: ContextLabel.checkpoint, payload: signed.checkpoint))
        log.blocks[height - 1].checkpoint = signed
        let result = try fixture.verifyTampered(log.fileBytes())
        #expect(result.status == 1)
        #expect(result.stderr.contains("block \(height): checkpoint (height \(height)"), "\(result.stderr)")
        #expect(result.stderr.contains("does not match"))
    }

    @Test("a block log cut in the middle of a block is caught, naming the block cut short")
    func truncatedMidBlock() throws {
        let fixture = try VerifiedDirectoryFixture.shared.get()
        let height = fixture.log.blocks.count - 2
        let frameStart = fixture.log.frameOffsets[height - 1]
        let bytes = Array(fixture.log.fileBytes()[..<(frameStart + 8 + 30)])
        let result = try fixture.verifyTampered(bytes)
        #expect(result.status == 1)
        #expect(result.stderr.contains("block \(height) (frame at byte \(frameStart)): cut short"), "\(result.stderr)")
    }

    @Test(
        "a transaction's author signature altered with everything above it re-signed by the node key needs --transactions"
    )
    func forgedTransactionSignature() throws {
        let fixture = try VerifiedDirectoryFixture.shared.get()
        var log = fixture.log
        let (height, offset) = try #require(log.firstTransaction())
        var entry = try Healthledger_V1_LedgerEntry(serializedBytes: log.blocks[height - 1].entries[offset])
        guard case .transaction(var transaction)? = entry.entry else { Issue.record("not a transaction"); return }
        transaction.signature[0] ^= 0x01
        entry.entry = .transaction(transaction)
        log.blocks[height - 1].entries[offset] = entry.serializedBytes()
        try log.rebuildHeaders(from: height, signingWith: try fixture.nodeKey())
        let without = try fixture.verifyTampered(log.fileBytes())
        #expect(without.status == 0, "only the author signature is wrong: \(without.stderr)")
        let with = try fixture.verifyTampered(log.fileBytes(), "--transactions")
        #expect(with.status == 1)
        let index = log.firstEntryIndex(ofBlock: height) + offset
        #expect(
            with.stderr.contains("block \(height), entry \(index): transaction's author signature"), "\(with.stderr)")
    }
}

/// One real node's data directory, made once for the suite: a patient writes a record and grants labs to a
/// clinician, who reads (allowed, audited), asks for genomics (denied, audited), and after a revoke reads again
/// (denied, audited); the node is then stopped (so it also wrote a snapshot).
struct VerifiedDirectoryFixture: Sendable {
    static let shared: Result<VerifiedDirectoryFixture, any Error> = Result { try VerifiedDirectoryFixture() }

    let workspace: CommandLineWorkspace
    var directory: String { workspace.path + "/data" }
    let log: StoredBlockLog

    init() throws {
        workspace = try CommandLineWorkspace()
        let node = try CommandLineNode(dataDirectory: workspace.path + "/data")
        do {
            defer { node.stop() }
            let run = { [workspace] (arguments: [String]) in workspace.run(arguments, server: "127.0.0.1:\(node.port)")
            }
            _ = run(["keygen", "--identity", "patient.pem"])
            _ = run(["keygen", "--identity", "clinician.pem", "--algorithm", "p256"])
            let patient = try run(["whoami", "--identity", "patient.pem", "--json"]).json()["principal_id"] as! String
            let clinician =
                try run(["whoami", "--identity", "clinician.pem", "--json"]).json()["principal_id"] as! String
            try Data("{\"hba1c\": 5.4}".utf8).write(to: URL(fileURLWithPath: workspace.path + "/lab.json"))
            let read = ["query", "--identity", "clinician.pem", "--patient", patient, "--categories"]
            #expect(run(["write", "--identity", "patient.pem", "--category", "labs", "lab.json"]).status == 0)
            let granted = try run([
                "grant", clinician, "--identity", "patient.pem", "--actions", "read", "--categories", "labs", "--for",
                "1h",
                "--json",
            ]).json()
            #expect(run(read + ["labs"]).status == 0)
            #expect(run(read + ["genomics"]).status == 2)
            let grantID = try #require(granted["grant_id"] as? String)
            #expect(run(["revoke", grantID, "--identity", "patient.pem"]).status == 0)
            #expect(run(read + ["labs"]).status == 2)
        }
        log = try StoredBlockLog(path: workspace.path + "/data/blocks.log")
    }

    /// `healthledger verify --data-dir directory arguments`.
    func verify(_ directory: String, _ arguments: String...) -> CommandLineResult {
        workspace.run(["verify", "--data-dir", directory] + arguments, server: "127.0.0.1:1")
    }

    /// Verifies a copy of the directory whose block log is `blockLog`.
    func verifyTampered(_ blockLog: [UInt8], _ arguments: String...) throws -> CommandLineResult {
        let copy = workspace.path + "/tampered-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        for name in ["chain-id", "node-key.pem", "snapshots"] {
            try FileManager.default.copyItem(atPath: directory + "/" + name, toPath: copy + "/" + name)
        }
        try Data(blockLog).write(to: URL(fileURLWithPath: copy + "/blocks.log"))
        return workspace.run(["verify", "--data-dir", copy] + arguments, server: "127.0.0.1:1")
    }

    func nodeKey() throws -> SigningPrivateKey {
        try SigningPrivateKey(pemRepresentation: String(contentsOfFile: directory + "/node-key.pem", encoding: .utf8))
    }

    func nodeKeyID() throws -> String { try nodeKey().publicKey.keyID }

    /// Every file under the directory and its bytes.
    func fileContents() throws -> [String: Data] {
        var contents: [String: Data] = [:]
        let enumerator = try #require(FileManager.default.enumerator(atPath: directory))
        while let name = enumerator.nextObject() as? String {
            if let data = FileManager.default.contents(atPath: directory + "/" + name) { contents[name] = data }
        }
        return contents
    }
}

/// A block log decoded per docs/DATA_DIRECTORY.md: "HLBLOCK1", then `length u32 | crc u32 | StoredBlock` frames.
struct StoredBlockLog: Sendable {
    var blocks: [StoredBlock]
    /// File offset of each frame as read.
    let frameOffsets: [Int]

    init(path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(Array(bytes[0..<8]) == BlockLog.fileHeader)
        var offset = 8
        var blocks: [StoredBlock] = []
        var offsets: [Int] = []
        while offset < bytes.count {
            let length =
                Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16
                | Int(bytes[offset + 3]) << 24
            offsets.append(offset)
            blocks.append(try StoredBlock(serializedBytes: Array(bytes[offset + 8..<offset + 8 + length])))
            offset += 8 + length
        }
        self.blocks = blocks
        frameOffsets = offsets
    }

    var entryCount: Int { blocks.reduce(0) { $0 + $1.entries.count } }

    /// Log index of block `height`'s first entry as the blocks now stand.
    func firstEntryIndex(ofBlock height: Int) -> Int { blocks[..<(height - 1)].reduce(0) { $0 + $1.entries.count } }

    /// The file: header, then each block re-encoded in a frame with its CRC-32C recomputed.
    func fileBytes() -> [UInt8] {
        var bytes = BlockLog.fileHeader
        for block in blocks {
            let payload = block.serializedBytes()
            var length = [UInt8](repeating: 0, count: 4)
            withUnsafeBytes(of: UInt32(payload.count).littleEndian) { length = Array($0) }
            let crc = CRC32C.checksum(payload, continuing: CRC32C.checksum(length))
            bytes += length
            withUnsafeBytes(of: crc.littleEndian) { bytes += $0 }
            bytes += payload
        }
        return bytes
    }

    /// (height, offset in block) of the first entry holding an audit event.
    func firstAuditEvent() -> (Int, Int)? { first { if case .auditEvent? = $0.entry { true } else { false } } }

    /// (height, offset in block) of the first entry holding a transaction.
    func firstTransaction() -> (Int, Int)? { first { if case .transaction? = $0.entry { true } else { false } } }

    private func first(where matches: (Healthledger_V1_LedgerEntry) -> Bool) -> (Int, Int)? {
        for (blockIndex, block) in blocks.enumerated() {
            for (offset, bytes) in block.entries.enumerated() {
                if let entry = try? Healthledger_V1_LedgerEntry(serializedBytes: bytes), matches(entry) {
                    return (blockIndex + 1, offset)
                }
            }
        }
        return nil
    }

    /// What a forger does after changing the entries of block `height`: recompute every header from there on (entry
    /// count, first index, entries and tree roots, previous-block hash) and its checkpoint, re-signing both with
    /// `key` when given (else leaving the old signatures), and the frames' checksums (`fileBytes`).
    mutating func rebuildHeaders(from height: Int, signingWith key: SigningPrivateKey? = nil) throws {
        var tree = MerkleTree()
        for block in blocks[..<(height - 1)] {
            for entry in block.entries { tree.append(leafHash: MerkleHash.leaf(entry)) }
        }
        var previousHash =
            height > 1 ? SHA256.hash(blocks[height - 2].header!.header) : [UInt8](repeating: 0, count: 32)
        for index in (height - 1)..<blocks.count {
            var signed = blocks[index].header!
            var header = try Healthledger_V1_BlockHeader(serializedBytes: signed.header)
            header.entryCount = UInt32(blocks[index].entries.count)
            header.firstEntryIndex = tree.size
            header.entriesRootHash = MerkleHash.root(ofLeafHashes: blocks[index].entries.map { MerkleHash.leaf($0) })
            for entry in blocks[index].entries { tree.append(leafHash: MerkleHash.leaf(entry)) }
            header.treeRootHash = tree.rootHash
            header.previousBlockHash = previousHash
            signed.header = header.serializedBytes()
            var signedCheckpoint = blocks[index].checkpoint!
            var checkpoint = try Healthledger_V1_Checkpoint(serializedBytes: signedCheckpoint.checkpoint)
            checkpoint.treeSize = tree.size
            checkpoint.rootHash = tree.rootHash
            signedCheckpoint.checkpoint = checkpoint.serializedBytes()
            if let key {
                signed.signature = key.signature(
                    for: ContextLabel.message(context: ContextLabel.blockHeader, payload: signed.header))
                signedCheckpoint.signature = key.signature(
                    for: ContextLabel.message(context: ContextLabel.checkpoint, payload: signedCheckpoint.checkpoint))
            }
            blocks[index].header = signed
            blocks[index].checkpoint = signedCheckpoint
            previousHash = SHA256.hash(signed.header)
        }
    }
}
