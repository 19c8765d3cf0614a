import LedgerDomain
import Synchronization

/// Wakes live followers when a block commits: AuditStream followers of a patient when that patient has new
/// events, GetBlocks followers on every block. Followers then read what is new from the committed state, so a
/// slow follower never makes the node buffer events, and none is skipped or sent twice.
final class CommitFeed: Sendable {
    private struct Followers {
        var closed = false
        var nextID = 0
        var byPatient: [String: [Int: AsyncStream<Void>.Continuation]] = [:]
        var blocks: [Int: AsyncStream<Void>.Continuation] = [:]
    }

    private let followers = Mutex(Followers())

    /// A stream that yields (coalesced) when `patient` has new audit events, and its cancellation.
    func followAudit(of patient: String) -> (wakeups: AsyncStream<Void>, cancel: @Sendable () -> Void) {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = followers.withLock { followers -> Int in
            guard !followers.closed else { return 0 }
            followers.nextID += 1
            followers.byPatient[patient, default: [:]][followers.nextID] = continuation
            return followers.nextID
        }
        if id == 0 { continuation.finish() }
        return (
            stream,
            { [self] in
                followers.withLock { followers in
                    followers.byPatient[patient]?[id] = nil
                    if followers.byPatient[patient]?.isEmpty == true { followers.byPatient[patient] = nil }
                }
                continuation.finish()
            }
        )
    }

    /// A stream that yields (coalesced) on every new block, and its cancellation.
    func followBlocks() -> (wakeups: AsyncStream<Void>, cancel: @Sendable () -> Void) {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = followers.withLock { followers -> Int in
            guard !followers.closed else { return 0 }
            followers.nextID += 1
            followers.blocks[followers.nextID] = continuation
            return followers.nextID
        }
        if id == 0 { continuation.finish() }
        return (
            stream,
            { [self] in
                _ = followers.withLock { $0.blocks.removeValue(forKey: id) }
                continuation.finish()
            }
        )
    }

    /// Called by the committer after a block is durable and published.
    func blockCommitted(_ draft: BlockDraft) {
        followers.withLock { followers in
            for continuation in followers.blocks.values { continuation.yield() }
            guard !followers.byPatient.isEmpty else { return }
            var woken = Set<String>()
            for audit in draft.auditEvents where woken.insert(audit.event.patient).inserted {
                for continuation in followers.byPatient[audit.event.patient]?.values ?? [:].values {
                    continuation.yield()
                }
            }
        }
    }

    /// Whether ``close()`` was called: a follower whose wakeups ended for this reason was not cancelled by its caller.
    var isClosed: Bool { followers.withLock { $0.closed } }

    /// Ends every follower, and every later one at once (the node is shutting down).
    func close() {
        followers.withLock { followers in
            for continuation in followers.blocks.values { continuation.finish() }
            for patient in followers.byPatient.values { for continuation in patient.values { continuation.finish() } }
            followers = Followers()
            followers.closed = true
        }
    }
}
