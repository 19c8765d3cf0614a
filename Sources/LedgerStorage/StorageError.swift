import Glibc

/// A storage failure, typed by what the node should do about it, with a one-line reason that names the file and,
/// for a failed system call, the errno text.
public struct StorageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is; the node maps each kind to a gRPC status.
    public enum Kind: Hashable, Sendable, CustomStringConvertible {
        /// The disk cannot take or give data now (ENOSPC, EIO, any failed system call): gRPC UNAVAILABLE.
        case unavailable
        /// A file is not the kind of file it should be (wrong magic, bad header): refuse it rather than guess.
        case corrupt
        /// No such record, or its patient's data key was erased (crypto-shredded).
        case notFound
        /// Stored data fails its checksum or authentication: damaged, truncated, reordered or tampered with.
        case dataLoss
        /// The caller passed something unusable: a patient id that is not a safe file name, a wrong-size master
        /// key, or an upload used after it was finished, committed or aborted.
        case invalidArgument

        /// The kind in words, e.g. "data loss".
        public var description: String {
            switch self {
            case .unavailable: "unavailable"
            case .corrupt: "corrupt"
            case .notFound: "not found"
            case .dataLoss: "data loss"
            case .invalidArgument: "invalid argument"
            }
        }
    }

    /// What kind of failure this is.
    public var kind: Kind
    /// One line saying what failed, on which file, and why.
    public var reason: String
    /// The errno of the failed system call, when one failed.
    public var systemError: Int32?

    /// Creates an error of `kind` with a one-line `reason`.
    public init(_ kind: Kind, _ reason: String, systemError: Int32? = nil) {
        self.kind = kind
        self.reason = reason
        self.systemError = systemError
    }

    /// The disk cannot take or give data now.
    public static func unavailable(_ reason: String) -> StorageError { StorageError(.unavailable, reason) }
    /// A file is not the kind of file it should be.
    public static func corrupt(_ reason: String) -> StorageError { StorageError(.corrupt, reason) }
    /// No such record, or its key was erased.
    public static func notFound(_ reason: String) -> StorageError { StorageError(.notFound, reason) }
    /// Stored data fails its checksum or authentication.
    public static func dataLoss(_ reason: String) -> StorageError { StorageError(.dataLoss, reason) }
    /// The caller passed something unusable.
    public static func invalidArgument(_ reason: String) -> StorageError { StorageError(.invalidArgument, reason) }

    /// "kind: reason", e.g. "unavailable: pwrite /data/blocks.log: No space left on device (ENOSPC)".
    public var description: String { "\(kind): \(reason)" }

    /// The error for a failed system call `call` on `path`: unavailable, with the errno text.
    static func systemCall(_ call: String, _ path: String, _ error: FileIOError) -> StorageError {
        StorageError(.unavailable, "\(call) \(path): \(error)", systemError: error.code)
    }
}

/// A failed file operation: the errno it set.
public struct FileIOError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The errno value, e.g. ENOSPC.
    public var code: Int32

    /// Wraps errno value `code`.
    public init(_ code: Int32) { self.code = code }

    /// The errno text and symbolic name, e.g. "No space left on device (ENOSPC)".
    public var description: String {
        let text = strerror(code).map { String(cString: $0) } ?? "Unknown error"
        return "\(text) (\(Self.name(of: code)))"
    }

    private static func name(of code: Int32) -> String {
        switch code {
        case EPERM: "EPERM"
        case ENOENT: "ENOENT"
        case EINTR: "EINTR"
        case EIO: "EIO"
        case EBADF: "EBADF"
        case EAGAIN: "EAGAIN"
        case ENOMEM: "ENOMEM"
        case EACCES: "EACCES"
        case EEXIST: "EEXIST"
        case EXDEV: "EXDEV"
        case ENOTDIR: "ENOTDIR"
        case EISDIR: "EISDIR"
        case EINVAL: "EINVAL"
        case ENFILE: "ENFILE"
        case EMFILE: "EMFILE"
        case EFBIG: "EFBIG"
        case ENOSPC: "ENOSPC"
        case EROFS: "EROFS"
        case ENAMETOOLONG: "ENAMETOOLONG"
        case ENOTEMPTY: "ENOTEMPTY"
        case EDQUOT: "EDQUOT"
        default: "errno \(code)"
        }
    }
}
