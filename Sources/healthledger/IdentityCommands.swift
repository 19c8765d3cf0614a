import ArgumentParser
import HealthLedgerClient
import LedgerCrypto

/// The signature algorithms `keygen` offers.
enum KeyAlgorithmChoice: String, ExpressibleByArgument, CaseIterable {
    case ed25519
    case p256

    /// The LedgerCrypto algorithm.
    var algorithm: SignatureAlgorithm { self == .ed25519 ? .ed25519 : .ecdsaP256 }
}

/// `healthledger keygen`: creates a principal's key and identity file.
struct KeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create a new principal: a key pair in an identity file (mode 0600).",
        discussion: """
            The identity file holds the private key (PKCS#8 PEM) and the principal id
            derived from it; see docs/CLI.md for the format. An existing file is never
            replaced without --force, because its key is the only way to sign for that
            principal.

            Examples:
              healthledger keygen
              healthledger keygen --identity ~/clinic/dr-lee.pem --algorithm p256
              healthledger keygen --identity patient.pem --json
            """)

    @Option(name: .long, help: "Signature algorithm: ed25519 or p256.")
    var algorithm: KeyAlgorithmChoice = .ed25519
    @Flag(name: .long, help: "Replace an existing identity file (its key is lost).")
    var force = false
    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false
    @OptionGroup var identity: IdentityOption

    func run() async throws {
        try await reportingFailures {
            let created = LedgerIdentity.generate(algorithm.algorithm)
            let path = identity.path
            try IdentityFile.save(created, to: path, overwrite: force)
            if json {
                CommandOutput.json([
                    "principal_id": created.id, "key_id": created.key.publicKey.keyID,
                    "algorithm": algorithm.rawValue, "identity_file": path,
                ])
            } else {
                CommandOutput.write(
                    FieldList(fields: [
                        ("principal id", created.id), ("key id", created.key.publicKey.keyID),
                        ("algorithm", algorithm.rawValue), ("identity file", path),
                    ]).rendered())
                CommandOutput.note("Share the principal id; keep the identity file secret and backed up.")
            }
        }
    }
}

/// `healthledger whoami`: shows who the identity file signs for.
struct WhoamiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami",
        abstract: "Show the principal id, key id and algorithm of the identity file.",
        discussion: """
            Reads only the identity file; does not contact a node.

            Examples:
              healthledger whoami
              healthledger whoami --identity ~/clinic/dr-lee.pem
              healthledger whoami --json | jq -r .principal_id
            """)

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false
    @OptionGroup var identity: IdentityOption

    func run() async throws {
        try await reportingFailures {
            let loaded = try identity.load()
            let algorithm = IdentityFile.name(of: loaded.key.algorithm)
            if json {
                CommandOutput.json([
                    "principal_id": loaded.id, "key_id": loaded.key.publicKey.keyID, "algorithm": algorithm,
                    "identity_file": identity.path,
                ])
            } else {
                CommandOutput.write(
                    FieldList(fields: [
                        ("principal id", loaded.id), ("key id", loaded.key.publicKey.keyID), ("algorithm", algorithm),
                        ("identity file", identity.path),
                    ]).rendered())
            }
        }
    }
}
