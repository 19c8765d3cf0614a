import HealthLedgerProtos
import LedgerCrypto
import LedgerDomain
import Synchronization

/// The block-signing keys of a cluster's nodes, as registered in etcd: the keys a replicated block may be signed
/// with, and the node keys GetChainHead reports.
final class ClusterNodeKeys: Sendable {
    private let keys: Mutex<[String: SigningPublicKey]>
    /// Called with every key once a new one is added (the node keeps them in its data directory).
    private let onChange: @Sendable ([SigningPublicKey]) -> Void

    init(_ keys: [String: SigningPublicKey], onChange: @escaping @Sendable ([SigningPublicKey]) -> Void = { _ in }) {
        self.keys = Mutex(keys)
        self.onChange = onChange
    }

    var current: [String: SigningPublicKey] { keys.withLock { $0 } }

    func add(_ key: SigningPublicKey) {
        let changed = keys.withLock { keys -> [SigningPublicKey]? in
            guard keys[key.keyID] == nil else { return nil }
            keys[key.keyID] = key
            return Array(keys.values)
        }
        if let changed { onChange(changed) }
    }
}

/// Callers waiting until the node has applied a given height: a decision waits for its read index.
final class HeightWaiters: Sendable {
    private struct Waiter {
        var id: UInt64
        var height: UInt64
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct Waiters {
        var height: UInt64
        var nextID: UInt64 = 0
        var waiting: [Waiter] = []
    }

    private let waiters: Mutex<Waiters>

    init(height: UInt64) {
        waiters = Mutex(Waiters(height: height))
    }

    /// Whether the node applied `height` within `timeout`.
    func wait(until height: UInt64, timeout: Duration) async -> Bool {
        await withCheckedContinuation { continuation in
            let id = waiters.withLock { waiters -> UInt64? in
                if waiters.height >= height { return nil }
                waiters.nextID += 1
                waiters.waiting.append(Waiter(id: waiters.nextID, height: height, continuation: continuation))
                return waiters.nextID
            }
            guard let id else {
                continuation.resume(returning: true)
                return
            }
            Task {
                try? await Task.sleep(for: timeout)
                let expired = self.waiters.withLock { waiters -> Waiter? in
                    guard let index = waiters.waiting.firstIndex(where: { $0.id == id }) else { return nil }
                    return waiters.waiting.remove(at: index)
                }
                expired?.continuation.resume(returning: false)
            }
        }
    }

    /// The node applied `height`.
    func reached(_ height: UInt64) {
        let ready = waiters.withLock { waiters -> [Waiter] in
            waiters.height = max(waiters.height, height)
            let ready = waiters.waiting.filter { $0.height <= height }
            waiters.waiting.removeAll { $0.height <= height }
            return ready
        }
        for waiter in ready { waiter.continuation.resume(returning: true) }
    }
}

extension Healthledger_V1_NodeKey {
    /// The record of a node's block-signing key as GetChainHead, etcd's `nodes/` keys and `cluster-node-keys` hold it:
    /// in force from the first block (a cluster's keys are not retired).
    init(signingKey key: SigningPublicKey) {
        self.init()
        keyId = key.keyID
        publicKey = TransactionValidator.wire(key)
        validFromHeight = 1
    }

    /// The key this record holds; LedgerNodeError when it holds none or its key id does not match.
    func signingKey() throws -> SigningPublicKey {
        guard let publicKey else { throw LedgerNodeError("a registered node key has no public key") }
        let key = try TransactionValidator.publicKey(publicKey, field: "node_key.public_key")
        guard key.keyID == keyId else { throw LedgerNodeError("a registered node key does not match its key id") }
        return key
    }
}
