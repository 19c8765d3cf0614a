import Glibc
import LedgerCrypto
import LedgerDomain
import RPCCore
import Logging

/// The node's own files in the data directory: chain id, node signing key, master key; created on first start.
struct NodeFiles {
    var chainID: String
    var nodeKey: SigningPrivateKey
    var masterKey: [UInt8]
    var blockLogPath: String
    var contentDirectory: String
    var snapshotDirectory: String
    var created: Bool

    static func prepare(_ configuration: LedgerNodeConfiguration, logger: Logger) throws -> NodeFiles {
        let directory = configuration.dataDirectory
        var created = false
        if access(directory, F_OK) != 0 {
            try makeDirectories(directory)
            created = true
            logger.notice("created the data directory", metadata: ["path": "\(directory)"])
        }
        let chainIDPath = directory + "/chain-id"
        let chainID: String
        if let stored = try readFile(chainIDPath) {
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
            try writeFileDurably(chainIDPath, Array((chainID + "\n").utf8), mode: 0o644)
        }

        let nodeKeyPath = directory + "/node-key.pem"
        let nodeKey: SigningPrivateKey
        if let pem = try readFile(nodeKeyPath) {
            do {
                nodeKey = try SigningPrivateKey(pemRepresentation: String(decoding: pem, as: UTF8.self))
            } catch {
                throw LedgerNodeError("\(nodeKeyPath): \(error)")
            }
        } else {
            nodeKey = SigningPrivateKey.generate(.ed25519)
            try writeFileDurably(nodeKeyPath, Array(nodeKey.pemRepresentation.utf8), mode: 0o600)
            logger.notice(
                "created the node's block-signing key",
                metadata: ["path": "\(nodeKeyPath)", "key_id": "\(nodeKey.publicKey.keyID)"])
        }

        let masterKeyPath = directory + "/master.key"
        let masterKey: [UInt8]
        if let stored = try readFile(masterKeyPath) {
            guard stored.count == 32 else { throw LedgerNodeError("\(masterKeyPath): must hold 32 bytes") }
            masterKey = stored
        } else {
            masterKey = SecureRandom.bytes(32)
            try writeFileDurably(masterKeyPath, masterKey, mode: 0o600)
            logger.notice("created the master key that wraps record data keys", metadata: ["path": "\(masterKeyPath)"])
        }
        return NodeFiles(
            chainID: chainID, nodeKey: nodeKey, masterKey: masterKey, blockLogPath: directory + "/blocks.log",
            contentDirectory: directory + "/content", snapshotDirectory: directory + "/snapshots", created: created)
    }

    /// Creates `path` and its missing parents, mode 0700.
    static func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw LedgerNodeError("cannot create directory \(prefix): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// The file's bytes, or nil when it does not exist.
    static func readFile(_ path: String) throws -> [UInt8]? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw LedgerNodeError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw LedgerNodeError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { return bytes }
            bytes += buffer[0..<count]
        }
    }

    /// Writes `bytes` to `path` through a temporary file, fsync and rename, so a crash leaves the old file or
    /// the new one, never a half-written key.
    static func writeFileDurably(_ path: String, _ bytes: [UInt8], mode: mode_t) throws {
        let temporary = path + ".tmp"
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw LedgerNodeError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                close(fd)
                throw LedgerNodeError("cannot write \(temporary): \(String(cString: strerror(errno)))")
            }
            written += count
        }
        guard fsync(fd) == 0 else {
            close(fd)
            throw LedgerNodeError("cannot fsync \(temporary): \(String(cString: strerror(errno)))")
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            throw LedgerNodeError("cannot rename \(temporary): \(String(cString: strerror(errno)))")
        }
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let directoryFD = Glibc.open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }
}

extension String {
    fileprivate func trimmingNewline() -> String {
        var text = self
        while text.last == "\n" || text.last == "\r" || text.last == " " { text.removeLast() }
        return text
    }
}
