import Glibc
import LedgerCrypto
import LedgerDomain
import RPCCore
import LedgerStorage
import Logging

/// The node's own files in the data directory: chain id, node signing key, master key, research pseudonym secret;
/// created on first start.
struct NodeFiles {
    var chainID: String
    var nodeKey: SigningPrivateKey
    var masterKey: [UInt8]
    var researchSecret: [UInt8]
    var blockLogPath: String
    var contentDirectory: String
    var snapshotDirectory: String
    var created: Bool

    static func prepare(_ configuration: LedgerNodeConfiguration, logger: Logger) throws -> NodeFiles {
        let directory = configuration.dataDirectory
        let fileIO = configuration.fileIO
        var created = false
        if access(directory, F_OK) != 0 {
            try makeDirectories(directory, fileIO: fileIO)
            created = true
            logger.notice("created the data directory", metadata: ["path": "\(directory)"])
        }
        let chainIDPath = directory + "/chain-id"
        let chainID: String
        if let stored = try readFile(chainIDPath, fileIO: fileIO) {
            chainID = String(decoding: stored, as: UTF8.self).trimmingNewline()
            if chainID != configuration.chainID {
                throw LedgerNodeError(
                    "\(chainIDPath): this data directory holds chain \"\(chainID)\", not \"\(configuration.chainID)\"")
            }
        } else {
            do {
                _ = try InputValidation.chainID(configuration.chainID, field: "chain id")
            } catch {
                throw LedgerNodeError(error.message)
            }
            chainID = configuration.chainID
            try writeFileDurably(chainIDPath, fileIO: fileIO, Array((chainID + "\n").utf8))
        }

        let nodeKeyPath = directory + "/node-key.pem"
        let nodeKey: SigningPrivateKey
        if let pem = try readFile(nodeKeyPath, fileIO: fileIO) {
            do {
                nodeKey = try SigningPrivateKey(pemRepresentation: String(decoding: pem, as: UTF8.self))
            } catch {
                throw LedgerNodeError("\(nodeKeyPath): \(error)")
            }
        } else {
            nodeKey = SigningPrivateKey.generate(.ed25519)
            try writeFileDurably(nodeKeyPath, fileIO: fileIO, Array(nodeKey.pemRepresentation.utf8))
            logger.notice(
                "created the node's block-signing key",
                metadata: ["path": "\(nodeKeyPath)", "key_id": "\(nodeKey.publicKey.keyID)"])
        }

        let masterKeyPath = directory + "/master.key"
        let masterKey: [UInt8]
        if let stored = try readFile(masterKeyPath, fileIO: fileIO) {
            guard stored.count == 32 else { throw LedgerNodeError("\(masterKeyPath): must hold 32 bytes") }
            masterKey = stored
        } else {
            masterKey = SecureRandom.bytes(32)
            try writeFileDurably(masterKeyPath, fileIO: fileIO, masterKey)
            logger.notice("created the master key that wraps record data keys", metadata: ["path": "\(masterKeyPath)"])
        }

        // Created on any start that lacks it, so data directories from before the research feed get one too; a
        // replaced secret changes every pseudonym, so backups must include it.
        let researchSecretPath = directory + "/research-pseudonym.key"
        let researchSecret: [UInt8]
        if let stored = try readFile(researchSecretPath, fileIO: fileIO) {
            guard stored.count == ResearchPseudonym.secretByteCount else {
                throw LedgerNodeError("\(researchSecretPath): must hold \(ResearchPseudonym.secretByteCount) bytes")
            }
            researchSecret = stored
        } else {
            researchSecret = SecureRandom.bytes(ResearchPseudonym.secretByteCount)
            try writeFileDurably(researchSecretPath, fileIO: fileIO, researchSecret)
            logger.notice(
                "created the secret behind the research feed's pseudonyms", metadata: ["path": "\(researchSecretPath)"])
        }
        return NodeFiles(
            chainID: chainID, nodeKey: nodeKey, masterKey: masterKey, researchSecret: researchSecret,
            blockLogPath: directory + "/blocks.log",
            contentDirectory: directory + "/content", snapshotDirectory: directory + "/snapshots", created: created)
    }

    /// Creates `path` and its missing parents, mode 0700.
    static func makeDirectories(_ path: String, fileIO: FileIO) throws {
        do { try SmallFile.makeDirectories(path, fileIO: fileIO) } catch { throw LedgerNodeError("\(error)") }
    }

    /// The file's bytes, or nil when it does not exist.
    static func readFile(_ path: String, fileIO: FileIO) throws -> [UInt8]? {
        do { return try SmallFile.read(path, fileIO: fileIO) } catch { throw LedgerNodeError("\(error)") }
    }

    /// Writes `bytes` to `path` atomically and durably (mode 0600), so a crash leaves the old file or the new
    /// one, never a half-written key.
    static func writeFileDurably(_ path: String, fileIO: FileIO, _ bytes: [UInt8]) throws {
        do { try SmallFile.write(bytes, to: path, fileIO: fileIO) } catch { throw LedgerNodeError("\(error)") }
    }
}

extension String {
    fileprivate func trimmingNewline() -> String {
        var text = self
        while text.last == "\n" || text.last == "\r" || text.last == " " { text.removeLast() }
        return text
    }
}
