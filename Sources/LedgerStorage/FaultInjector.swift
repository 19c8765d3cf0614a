import Glibc
import Synchronization

/// Scheduled failures for a `FileIO`: writes, syncs or reads that fail with a chosen errno, as a full or failing
/// disk would. Thread-safe; share one injector between the code under test and the test.
public final class FaultInjector: Sendable {
    private struct Rule {
        var code: Int32
        var successesLeft: Int
    }

    private struct State {
        var writes: Rule?
        var syncs: Rule?
        var reads: Rule?
        var injected = 0
    }

    private let state = Mutex(State())

    /// An injector with nothing scheduled: every operation reaches the wrapped `FileIO`.
    public init() {}

    /// After `successes` more pwrites succeed, every pwrite fails with `code` (e.g. ENOSPC) until `clear()`.
    public func failWrites(errno code: Int32, after successes: Int = 0) {
        state.withLock { $0.writes = Rule(code: code, successesLeft: successes) }
    }

    /// After `successes` more syncs succeed, every fsync, fdatasync and directory sync fails with `code`
    /// (e.g. EIO) until `clear()`.
    public func failSyncs(errno code: Int32, after successes: Int = 0) {
        state.withLock { $0.syncs = Rule(code: code, successesLeft: successes) }
    }

    /// After `successes` more preads succeed, every pread fails with `code` (e.g. EIO) until `clear()`.
    public func failReads(errno code: Int32, after successes: Int = 0) {
        state.withLock { $0.reads = Rule(code: code, successesLeft: successes) }
    }

    /// Cancels every scheduled failure: the disk works again.
    public func clear() {
        state.withLock {
            $0.writes = nil
            $0.syncs = nil
            $0.reads = nil
        }
    }

    /// How many operations have been made to fail so far.
    public var injectedFailures: Int { state.withLock { $0.injected } }

    fileprivate enum Operation { case write, sync, read }

    /// Throws the scheduled errno if `operation` is due to fail now.
    fileprivate func check(_ operation: Operation) throws(FileIOError) {
        let failure: Int32? = state.withLock { state in
            func due(_ rule: inout Rule?) -> Int32? {
                guard var current = rule else { return nil }
                if current.successesLeft > 0 {
                    current.successesLeft -= 1
                    rule = current
                    return nil
                }
                return current.code
            }
            let code: Int32? =
                switch operation {
                case .write: due(&state.writes)
                case .sync: due(&state.syncs)
                case .read: due(&state.reads)
                }
            if code != nil { state.injected += 1 }
            return code
        }
        if let failure { throw FileIOError(failure) }
    }
}

extension FileIO {
    /// `base`'s operations, with the failures `injector` schedules injected before they reach `base`.
    public static func injectingFaults(into base: FileIO, _ injector: FaultInjector) -> FileIO {
        var io = base
        io.pwrite = { fd, bytes, offset throws(FileIOError) in
            try injector.check(.write)
            return try base.pwrite(fd, bytes, offset)
        }
        io.pread = { fd, buffer, offset throws(FileIOError) in
            try injector.check(.read)
            return try base.pread(fd, buffer, offset)
        }
        io.fsync = { fd throws(FileIOError) in
            try injector.check(.sync)
            try base.fsync(fd)
        }
        io.fdatasync = { fd throws(FileIOError) in
            try injector.check(.sync)
            try base.fdatasync(fd)
        }
        io.syncDirectory = { path throws(FileIOError) in
            try injector.check(.sync)
            try base.syncDirectory(path)
        }
        return io
    }
}
