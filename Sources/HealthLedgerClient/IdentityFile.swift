import Glibc
import LedgerCrypto

/// The identity file: a principal's private key on disk, in a text format `openssl pkey` also reads.
///
/// ```
/// # HealthLedger identity. Keep this file secret: it signs for the principal below.
/// principal: hl1...
/// algorithm: ed25519
/// key-id: 64 lowercase hex characters
/// -----BEGIN PRIVATE KEY-----
/// (PKCS#8, base64)
/// -----END PRIVATE KEY-----
/// ```
///
/// Lines before the PEM block are `name: value` headers (RFC 7468 explanatory text; `#` starts a comment).
/// `principal` is required when the key is not the principal's first key (after a rotation); without it the id
/// is derived from the key. `algorithm` and `key-id` are informative and checked against the key when present.
/// Files are written atomically with mode 0600, and a file any group or other user may read is refused.
public enum IdentityFile {
    /// The path used when neither `--identity` nor `HEALTHLEDGER_IDENTITY` says otherwise:
    /// `$XDG_CONFIG_HOME/healthledger/identity.pem`, or `~/.config/healthledger/identity.pem`.
    public static func defaultPath(environment: [String: String]) -> String {
        if let base = environment["XDG_CONFIG_HOME"], !base.isEmpty { return base + "/healthledger/identity.pem" }
        return (environment["HOME"] ?? ".") + "/.config/healthledger/identity.pem"
    }

    /// The identity file to use: `explicit` (a flag) first, then `HEALTHLEDGER_IDENTITY`, then the default path.
    public static func path(explicit: String?, environment: [String: String]) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = environment["HEALTHLEDGER_IDENTITY"], !fromEnvironment.isEmpty { return fromEnvironment }
        return defaultPath(environment: environment)
    }

    /// The file text for `identity`.
    public static func encode(_ identity: LedgerIdentity) -> String {
        """
        # HealthLedger identity. Keep this file secret: it signs for the principal below.
        principal: \(identity.id)
        algorithm: \(name(of: identity.key.algorithm))
        key-id: \(identity.key.publicKey.keyID)

        """ + identity.key.pemRepresentation
    }

    /// The identity in file text `text`; `path` only names the file in errors.
    public static func decode(_ text: String, path: String) throws(IdentityFileError) -> LedgerIdentity {
        guard let pemStart = text.firstRange(of: "-----BEGIN ") else {
            throw IdentityFileError(.malformed, path: path, "no PEM private key block")
        }
        var headers: [String: String] = [:]
        for line in text[..<pemStart.lowerBound].split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let colon = trimmed.firstIndex(of: ":") else {
                throw IdentityFileError(.malformed, path: path, "header line \"\(trimmed)\" is not `name: value`")
            }
            headers[trimmed[..<colon].trimmingWhitespace().lowercased()] =
                trimmed[trimmed.index(after: colon)...].trimmingWhitespace()
        }
        let key: SigningPrivateKey
        do {
            key = try SigningPrivateKey(pemRepresentation: String(text[pemStart.lowerBound...]))
        } catch {
            throw IdentityFileError(.malformed, path: path, error.description)
        }
        if let algorithm = headers["algorithm"], algorithm != name(of: key.algorithm) {
            throw IdentityFileError(
                .malformed, path: path, "header says algorithm \(algorithm) but the key is \(name(of: key.algorithm))")
        }
        if let keyID = headers["key-id"], keyID != key.publicKey.keyID {
            throw IdentityFileError(.malformed, path: path, "header key-id does not match the key")
        }
        guard let principalText = headers["principal"] else { return LedgerIdentity(firstKey: key) }
        do {
            return LedgerIdentity(principalID: try PrincipalID(parsing: principalText), key: key)
        } catch {
            throw IdentityFileError(.malformed, path: path, "principal \(principalText): \(error.description)")
        }
    }

    /// Writes `identity` to `path` atomically with mode 0600, creating missing directories with mode 0700;
    /// an existing file is replaced only when `overwrite` is set.
    public static func save(_ identity: LedgerIdentity, to path: String, overwrite: Bool) throws(IdentityFileError) {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        try makeDirectories(directory.isEmpty ? "/" : directory, for: path)
        if !overwrite, access(path, F_OK) == 0 { throw IdentityFileError(.alreadyExists, path: path, "") }
        let temporary = path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw IdentityFileError(.io, path: path, "cannot create: \(systemError())") }
        var bytes = Array(encode(identity).utf8)
        defer { bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } } }
        var written = 0
        var failure: String?
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                failure = "cannot write: \(systemError())"
                break
            }
            written += count
        }
        if failure == nil, fchmod(descriptor, 0o600) != 0 || fsync(descriptor) != 0 {
            failure = "cannot sync: \(systemError())"
        }
        close(descriptor)
        if failure == nil {
            // link() refuses an existing target, so two concurrent `keygen`s cannot overwrite each other.
            let placed = overwrite ? rename(temporary, path) : link(temporary, path)
            if placed != 0 {
                failure = errno == EEXIST ? "exists" : "cannot place: \(systemError())"
            }
        }
        if failure != nil || !overwrite { unlink(temporary) }
        if failure == "exists" { throw IdentityFileError(.alreadyExists, path: path, "") }
        if let failure { throw IdentityFileError(.io, path: path, failure) }
        syncDirectory(directory.isEmpty ? "/" : directory)
    }

    /// The identity in the file at `path`; refuses a file that is not private to its owner.
    public static func load(from path: String) throws(IdentityFileError) -> LedgerIdentity {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { throw IdentityFileError(.notFound, path: path, "") }
            throw IdentityFileError(.io, path: path, "cannot open: \(systemError())")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw IdentityFileError(.io, path: path, "cannot stat: \(systemError())")
        }
        let permissions = status.st_mode & 0o777
        if permissions & 0o077 != 0 {
            throw IdentityFileError(.unsafePermissions, path: path, String(permissions, radix: 8))
        }
        guard status.st_size <= 64 * 1024 else { throw IdentityFileError(.malformed, path: path, "larger than 64 KiB") }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        defer { bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } } }
        var total = 0
        while total < bytes.count {
            let count = bytes[total...].withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            total += count
        }
        return try decode(String(decoding: bytes[..<total], as: UTF8.self), path: path)
    }

    /// The name an identity file and the command line use for `algorithm`.
    public static func name(of algorithm: SignatureAlgorithm) -> String {
        switch algorithm {
        case .ed25519: "ed25519"
        case .ecdsaP256: "p256"
        }
    }

    private static func makeDirectories(_ directory: String, for path: String) throws(IdentityFileError) {
        if access(directory, F_OK) == 0 { return }
        if let parent = directory.lastIndex(of: "/").map({ String(directory[..<$0]) }), !parent.isEmpty {
            try makeDirectories(parent, for: path)
        }
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw IdentityFileError(.io, path: path, "cannot create directory \(directory): \(systemError())")
        }
    }

    private static func syncDirectory(_ directory: String) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }

    private static func systemError() -> String { String(cString: strerror(errno)) }
}

/// Why an identity file could not be read or written; `description` is one line naming the file.
public struct IdentityFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, for choosing an exit code and a hint.
    public enum Kind: Sendable, Hashable {
        /// There is no file at the path.
        case notFound
        /// The file's mode lets group or others read or write it; `detail` is the octal mode.
        case unsafePermissions
        /// The file is not an identity file.
        case malformed
        /// Saving would replace an existing file.
        case alreadyExists
        /// The system refused a read or write.
        case io
    }

    /// What went wrong.
    public var kind: Kind
    /// The identity file.
    public var path: String
    /// Specifics (the octal mode for `unsafePermissions`).
    public var detail: String

    /// An error of `kind` about the file at `path`.
    public init(_ kind: Kind, path: String, _ detail: String) {
        self.kind = kind
        self.path = path
        self.detail = detail
    }

    /// One line naming the file and the problem.
    public var description: String {
        switch kind {
        case .notFound: "no identity file at \(path)"
        case .unsafePermissions:
            "identity file \(path) has mode \(detail): group or others may access the private key"
        case .malformed: "identity file \(path) is not usable: \(detail)"
        case .alreadyExists: "identity file \(path) already exists"
        case .io: "identity file \(path): \(detail)"
        }
    }
}

extension StringProtocol {
    fileprivate func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
