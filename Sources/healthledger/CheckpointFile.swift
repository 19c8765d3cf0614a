import Foundation
import Glibc
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto

/// The file where client commands keep, per chain, the node keys they pinned and the last checkpoint they trusted,
/// so the next command notices a node that rewrote or forked its history. JSON:
///
/// ```
/// {"chain_id": "...", "node_keys": [{"key_id": "...", "algorithm": "ed25519", "public_key": "<hex>",
///   "valid_from_height": 1, "valid_until_height": 9}],
///  "checkpoint": {"tree_size": 120, "root_hash": "<hex>", "block_height": 40, "signed": "<base64 SignedCheckpoint>"}}
/// ```
///
/// Written atomically (temporary file, fsync, rename, fsync of the directory), so a crash leaves the old or the new
/// file, never a torn one.
struct CheckpointFile: WitnessStore {
    /// `--checkpoint-file` or `HEALTHLEDGER_CHECKPOINT_FILE`, when given: one file whatever the chain.
    let explicitPath: String?
    /// The environment the default path is taken from.
    let environment: [String: String]

    /// The file for `chainID`: the explicit one, else `$XDG_STATE_HOME/healthledger/checkpoints/<chain-id>.json`
    /// (`~/.local/state` when XDG_STATE_HOME is not set).
    func path(chainID: String) -> String {
        if let explicitPath, !explicitPath.isEmpty { return explicitPath }
        if let fromEnvironment = environment["HEALTHLEDGER_CHECKPOINT_FILE"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        let base =
            environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? ".") + "/.local/state"
        // The chain id comes from the node: anything but a well-formed id ("../", "/") must not steer the path.
        let name = Self.isWellFormed(chainID: chainID) ? chainID : "chain-" + Hex.encode(SHA256.hash(Array(chainID.utf8)))
        return base + "/healthledger/checkpoints/\(name).json"
    }

    /// Whether `chainID` is what chain.proto allows: 1 to 64 bytes of a-z, 0-9 and "-".
    static func isWellFormed(chainID: String) -> Bool {
        let bytes = Array(chainID.utf8)
        return (1...64).contains(bytes.count)
            && bytes.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }
    }

    func load(chainID: String) throws -> CheckpointWitness? {
        let path = path(chainID: chainID)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        func malformed(_ problem: String) -> InvalidInput {
            InvalidInput(
                "the checkpoint file \(path) is damaged: \(problem)",
                hint: "restore it from a backup, or remove it to trust the node's current history and keys again")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw malformed("it is not a JSON object")
        }
        guard let storedChain = object["chain_id"] as? String else { throw malformed("no chain_id") }
        guard storedChain == chainID else {
            throw InvalidInput(
                "the checkpoint file \(path) is for chain \(storedChain), the node serves chain \(chainID)",
                hint: "name another file with --checkpoint-file, or point --server at the node of chain \(storedChain)")
        }
        var keys: [PinnedNodeKey] = []
        for record in object["node_keys"] as? [[String: Any]] ?? [] {
            guard let hex = record["public_key"] as? String, let bytes = Hex.decode(hex),
                let algorithm = Self.algorithm(named: record["algorithm"] as? String ?? ""),
                let key = try? SigningPublicKey(algorithm: algorithm, rawBytes: bytes),
                key.keyID == record["key_id"] as? String
            else { throw malformed("a node key is unusable") }
            keys.append(
                PinnedNodeKey(
                    publicKey: key, validFromHeight: Self.number(record["valid_from_height"]) ?? 0,
                    validUntilHeight: Self.number(record["valid_until_height"])))
        }
        var latest: TrustedCheckpoint?
        if let checkpoint = object["checkpoint"] as? [String: Any] {
            guard let treeSize = Self.number(checkpoint["tree_size"]),
                let root = (checkpoint["root_hash"] as? String).flatMap({ Hex.decode($0) }), root.count == 32
            else { throw malformed("the checkpoint has no tree size or root hash") }
            let signed = (checkpoint["signed"] as? String).flatMap { Data(base64Encoded: $0) }.flatMap {
                try? Healthledger_V1_SignedCheckpoint(serializedBytes: [UInt8]($0))
            }
            latest = TrustedCheckpoint(
                treeSize: treeSize, rootHash: root, blockHeight: Self.number(checkpoint["block_height"]) ?? 0,
                signed: signed ?? Healthledger_V1_SignedCheckpoint())
        }
        return CheckpointWitness(chainID: chainID, pinnedKeys: keys, latest: latest)
    }

    func save(_ witness: CheckpointWitness) throws {
        // Commands of one user may run side by side; one that started earlier must not put back an older checkpoint
        // (the newer one was verified by the other run, and the next run checks it against the node all the same).
        if let latest = witness.latest, let stored = try? load(chainID: witness.chainID)?.latest,
            stored.treeSize > latest.treeSize
        {
            return
        }
        var object: [String: Any] = [
            "chain_id": witness.chainID,
            "node_keys": witness.pinnedKeys.values.sorted { $0.keyID < $1.keyID }.map { key in
                var record: [String: Any] = [
                    "key_id": key.keyID, "algorithm": key.publicKey.algorithm == .ecdsaP256 ? "ecdsa-p256" : "ed25519",
                    "public_key": Hex.encode(key.publicKey.rawBytes), "valid_from_height": key.validFromHeight,
                ]
                if let until = key.validUntilHeight { record["valid_until_height"] = until }
                return record
            },
        ]
        if let latest = witness.latest {
            object["checkpoint"] = [
                "tree_size": latest.treeSize, "root_hash": Hex.encode(latest.rootHash),
                "block_height": latest.blockHeight,
                "signed": Data(latest.signed.serializedBytes()).base64EncodedString(),
            ]
        }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        try Self.writeAtomically(Array(data) + [0x0A], to: path(chainID: witness.chainID))
    }

    /// Replaces `path` with `bytes` so that a crash leaves either the old or the new contents.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        func failure(_ what: String) -> CommandFailure {
            CommandFailure(
                .failure, "cannot keep the last checkpoint in \(path): \(what): \(String(cString: strerror(errno)))",
                hint: "check that you may write its directory, or name another file with --checkpoint-file")
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let temporary = path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure("cannot create \(temporary)") }
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else {
                close(descriptor)
                unlink(temporary)
                throw failure("cannot write")
            }
            written += result
        }
        guard fsync(descriptor) == 0 else {
            close(descriptor)
            unlink(temporary)
            throw failure("cannot fsync")
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw failure("cannot rename \(temporary)")
        }
        let directoryDescriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    private static func algorithm(named name: String) -> SignatureAlgorithm? {
        switch name {
        case "ed25519": .ed25519
        case "ecdsa-p256": .ecdsaP256
        default: nil
        }
    }

    private static func number(_ value: Any?) -> UInt64? {
        (value as? NSNumber).map { $0.uint64Value }
    }
}
