import Glibc
import LedgerDomain

/// The committed ledger state shared by every RPC: many readers at once (decisions, listings, replays), one
/// writer (the block committer) that swaps in each durable block under the write lock.
final class LedgerStateCell: @unchecked Sendable {
    // Guarded by `lock`; the committer thread, the only writer, may also read it without the lock.
    private var state: LedgerState
    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)

    init(_ state: LedgerState) {
        self.state = state
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Runs `body` with the committed state; keep it short, the committer waits for readers.
    func read<T, E: Error>(_ body: (borrowing LedgerState) throws(E) -> T) throws(E) -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(state)
    }

    /// Changes the state under the write lock. Only the committer calls this.
    func write<T, E: Error>(_ body: (inout LedgerState) throws(E) -> T) throws(E) -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&state)
    }

    /// Runs `body` with the state, without locking: only for the committer thread, the only writer.
    func readAsCommitter<T, E: Error>(_ body: (borrowing LedgerState) throws(E) -> T) throws(E) -> T {
        try body(state)
    }
}
