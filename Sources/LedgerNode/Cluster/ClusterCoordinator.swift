import EtcdClient
import EtcdProtos
import HealthLedgerProtos
import LedgerCrypto
import LedgerDomain
import Logging
import RPCCore
import Synchronization

/// A node's link to its cluster: joining it, following what etcd orders (blocks, the leader's inbox, outcomes of this
/// node's forwarded work) into the committer, and the election that decides which node proposes blocks. The leader
/// is whoever holds the leader key, bound to a lease the node keeps alive; when the lease ends (the node died, hung
/// or lost etcd), the key goes with it and another node takes over after the lease's time to live.
final class ClusterCoordinator: Sendable {
    let etcd: EtcdClient
    let keyspace: ClusterKeyspace
    let nodeID: String
    let advertisedAddress: String
    let leaseTTLSeconds: Int64
    let logger: Logger
    private let committer: Mutex<ClusterCommitter?> = Mutex(nil)
    private let appliedHeight: @Sendable () -> UInt64
    private let nodeKeys: ClusterNodeKeys
    /// Ends the current leadership early (a proposal showed another node leads): the fence it ends.
    private let lostLeadership = Mutex<[Int64: CheckedContinuation<Void, Never>]>([:])
    private let tasks = Mutex<[Task<Void, Never>]>([])
    /// The lease of the leadership this node holds, revoked when the node stops.
    private let heldLease = Mutex<Int64?>(nil)

    init(
        etcd: EtcdClient, keyspace: ClusterKeyspace, nodeID: String, advertisedAddress: String, leaseTTLSeconds: Int64,
        nodeKeys: ClusterNodeKeys, logger: Logger, appliedHeight: @escaping @Sendable () -> UInt64
    ) {
        self.etcd = etcd
        self.keyspace = keyspace
        self.nodeID = nodeID
        self.advertisedAddress = advertisedAddress
        self.leaseTTLSeconds = leaseTTLSeconds
        self.nodeKeys = nodeKeys
        self.logger = logger
        self.appliedHeight = appliedHeight
    }

    // MARK: Joining

    /// What a node reads of its cluster before it opens its data: every registered node key (the keys the chain's
    /// blocks may be signed with). A cluster of another chain is refused. Nothing is written yet: a node whose data
    /// turns out not to fit the cluster leaves no trace in it (see ``claim(chainID:nodeKey:)``).
    static func registeredKeys(
        etcd: EtcdClient, keyspace: ClusterKeyspace, chainID: String
    ) async throws -> [String: SigningPublicKey] {
        if let chain = try await etcd.range(keyspace.chain).kvs.first?.value {
            try checkChain(chain, is: chainID, keyspace: keyspace)
        }
        let registered = try await etcd.range(keyspace.nodesPrefix, end: EtcdClient.prefixEnd(keyspace.nodesPrefix))
        var keys: [String: SigningPublicKey] = [:]
        for kv in registered.kvs {
            let key = try decodeNodeKey(kv.value)
            keys[key.keyID] = key
        }
        return keys
    }

    /// Joins: claims the chain id and the policy settings for a new cluster (or checks them against the cluster's)
    /// and registers this node's key.
    func claim(chainID: String, rules: LedgerRules, nodeKey: SigningPublicKey) async throws {
        let chain = try await Self.createOrRead(etcd: etcd, key: keyspace.chain, value: Array(chainID.utf8))
        try Self.checkChain(chain, is: chainID, keyspace: keyspace)
        let mine = ClusterKeyspace.rulesValue(rules)
        let cluster = try await Self.createOrRead(etcd: etcd, key: keyspace.rules, value: mine)
        guard cluster == mine else {
            let lines = { (bytes: [UInt8]) in String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init) }
            let differing = lines(mine).filter { !lines(cluster).contains($0) }
            throw LedgerNodeError(
                "this node's policy settings differ from the cluster's (\(differing.joined(separator: "; ")); the cluster has \(lines(cluster).joined(separator: "; "))): every node must admit blocks alike; give it the same settings, or change \(keyspace.prefix)/rules when changing them on every node (docs/DEPLOY.md)")
        }
        try await register([nodeKey])
    }

    /// Registers node keys (this node's; or, seeding a cluster, every key its chain's blocks were signed with).
    func register(_ keys: [SigningPublicKey]) async throws {
        for key in keys {
            let record = Healthledger_V1_NodeKey(signingKey: key)
            _ = try await Self.createOrRead(etcd: etcd, key: keyspace.node(key.keyID), value: record.serializedBytes())
            nodeKeys.add(key)
        }
    }

    private static func checkChain(_ chain: [UInt8], is chainID: String, keyspace: ClusterKeyspace) throws {
        guard chain == Array(chainID.utf8) else {
            throw LedgerNodeError(
                "the cluster under \(keyspace.prefix) holds chain \"\(String(decoding: chain, as: UTF8.self))\", not \"\(chainID)\"")
        }
    }

    static func decodeNodeKey(_ bytes: [UInt8]) throws -> SigningPublicKey {
        try Healthledger_V1_NodeKey(serializedBytes: bytes).signingKey()
    }

    /// Puts `value` at `key` unless the key exists; returns what the key holds afterwards.
    private static func createOrRead(etcd: EtcdClient, key: [UInt8], value: [UInt8]) async throws -> [UInt8] {
        let request = Etcdserverpb_TxnRequest(
            if: [.createRevision(of: key, .equal, 0)], then: [.put(key, value)], else: [.range(key)])
        let response = try await etcd.txn(request)
        if response.succeeded { return value }
        guard case .responseRange(let existing)? = response.responses.first?.response, let kv = existing.kvs.first else {
            throw LedgerNodeError("etcd answered a create-or-read of \(String(decoding: key, as: UTF8.self)) without the key")
        }
        return kv.value
    }

    /// How a node's own chain fits the cluster's.
    enum LocalChainFit: Equatable {
        /// It is a prefix of the cluster's chain (the node catches up from etcd).
        case prefix
        /// The cluster has no block yet: the node's chain becomes the cluster's (a single node turned into the
        /// first node of a cluster; see ``seed(height:block:)``).
        case seedsEmptyCluster
    }

    /// Checks that the node's own chain is a prefix of the cluster's: its head block is the cluster's block at that
    /// height. A data directory of another cluster, or one ahead of the cluster (restored from a newer backup than
    /// etcd's), is refused rather than forked. A chain meeting a cluster with no block yet will seed it.
    func checkLocalChain(height: UInt64, lastBlockHash: [UInt8]) async throws -> LocalChainFit {
        let head = try await readHead()
        if head == 0 && height > 0 { return .seedsEmptyCluster }
        if height > head {
            throw LedgerNodeError(
                "this data directory holds \(height) blocks but the cluster under \(keyspace.prefix) only \(head): it belongs to another cluster or to a newer backup")
        }
        guard height > 0 else { return .prefix }
        let stored = try await etcd.range(keyspace.block(height))
        guard let bytes = stored.kvs.first?.value else {
            // Blocks older than the cluster keeps: nothing to compare with here; the next block's link is checked.
            return .prefix
        }
        guard let header = (try? StoredBlock(serializedBytes: bytes))?.header?.header else {
            throw LedgerNodeError("the cluster's block \(height) cannot be decoded")
        }
        if SHA256.hash(header) != lastBlockHash {
            throw LedgerNodeError("this data directory's block \(height) is not the cluster's: it belongs to another chain")
        }
        return .prefix
    }

    /// Blocks put in etcd by one seeding transaction at most: etcd's default limits are 128 operations and 1.5 MiB.
    static let seedBlocksPerTransaction = 100
    static let seedBytesPerTransaction = 1 << 20

    /// Makes this node's chain of `height` blocks the cluster's: its blocks go to etcd in order, each transaction
    /// conditional on the head it continues, so a node that started the cluster meanwhile makes this fail rather
    /// than fork. `block` reads block `height` as the block log stores it. Called after ``claim(chainID:nodeKey:)``:
    /// the blocks are signed with this node's registered key.
    func seed(height: UInt64, block: (UInt64) throws -> [UInt8]) async throws {
        var next: UInt64 = 1
        while next <= height {
            var operations: [Etcdserverpb_RequestOp] = []
            var bytes = 0
            var last = next - 1
            while last < height && operations.count < Self.seedBlocksPerTransaction && bytes < Self.seedBytesPerTransaction {
                last += 1
                let stored = try block(last)
                operations.append(.put(keyspace.block(last), stored))
                bytes += stored.count
            }
            operations.append(.put(keyspace.head, ClusterKeyspace.headValue(last)))
            let follows: Etcdserverpb_Compare =
                next == 1
                ? .createRevision(of: keyspace.head, .equal, 0)
                : .value(of: keyspace.head, .equal, ClusterKeyspace.headValue(next - 1))
            let response = try await etcd.txn(Etcdserverpb_TxnRequest(if: [follows], then: operations))
            guard response.succeeded else {
                throw LedgerNodeError(
                    "another node started the cluster under \(keyspace.prefix) while this node was putting its chain there (at block \(next)); start this node with an empty data directory to join it")
            }
            next = last + 1
        }
        logger.notice("this node's chain is now the cluster's", metadata: ["blocks": "\(height)", "prefix": "\(keyspace.prefix)"])
    }

    private func readHead() async throws -> UInt64 {
        let response = try await etcd.range(keyspace.head)
        guard let value = response.kvs.first?.value else { return 0 }
        guard let height = ClusterKeyspace.height(headValue: value) else {
            throw LedgerNodeError("the cluster's head key holds no height")
        }
        return height
    }

    // MARK: Running

    /// Starts following the cluster and campaigning for leadership.
    func start(committer: ClusterCommitter) {
        self.committer.withLock { $0 = committer }
        let follow = Task { await self.followLoop(committer) }
        let campaign = Task { await self.campaignLoop(committer) }
        tasks.withLock { $0 = [follow, campaign] }
    }

    /// Stops following and campaigning; a held leadership ends with its lease (revoked here when etcd answers).
    func stop() async {
        let running = tasks.withLock { tasks -> [Task<Void, Never>] in
            defer { tasks = [] }
            return tasks
        }
        for task in running { task.cancel() }
        for waiter in lostLeadership.withLock({ waiters -> [CheckedContinuation<Void, Never>] in
            defer { waiters = [:] }
            return Array(waiters.values)
        }) { waiter.resume() }
        for task in running { await task.value }
        committer.withLock { $0 = nil }
        // Revoked here, outside the cancelled campaign: its leader key goes at once and another node takes over
        // without waiting for the lease to run out.
        if let lease = heldLease.withLock({ $0.take() }) {
            do { try await etcd.revokeLease(lease) } catch {
                logger.warning("could not give up the leadership at once; it ends with its lease", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The committer found that `fence` no longer holds.
    func leadershipLost(_ fence: LeaderFence) {
        lostLeadership.withLock { $0.removeValue(forKey: fence.leaderKeyRevision) }?.resume()
    }

    private func followLoop(_ committer: ClusterCommitter) async {
        while !Task.isCancelled {
            do {
                let revision = try await synchronise(committer)
                if committer.currentRole == .starting { committer.setRole(.follower) }
                let watch = etcd.watch(keyspace.all, end: EtcdClient.prefixEnd(keyspace.all), startRevision: revision + 1)
                for try await batch in watch {
                    committer.deliver(events(of: batch.events))
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("following the cluster was interrupted; synchronising again", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// Reads, at one etcd revision, the node keys, every block after this node's head and the whole inbox, and
    /// hands them to the committer; returns the revision, from which the watch continues.
    private func synchronise(_ committer: ClusterCommitter) async throws -> Int64 {
        let first = try await etcd.range(keyspace.head)
        let revision = first.header?.revision ?? 0
        let nodes = try await etcd.range(
            keyspace.nodesPrefix, end: EtcdClient.prefixEnd(keyspace.nodesPrefix), revision: revision)
        for kv in nodes.kvs {
            if let key = try? Self.decodeNodeKey(kv.value) { nodeKeys.add(key) }
        }
        var next = appliedHeight() + 1
        let blocksEnd = EtcdClient.prefixEnd(keyspace.blocksPrefix)
        while true {
            let page = try await etcd.range(keyspace.block(next), end: blocksEnd, revision: revision, limit: 32)
            var events: [ClusterCommitter.Event] = []
            for kv in page.kvs {
                guard case .block(let height)? = keyspace.parse(kv.key) else { continue }
                events.append(.block(height: height, bytes: kv.value))
                next = height + 1
            }
            committer.deliver(events)
            if !page.more || page.kvs.isEmpty { break }
        }
        let inbox = try await etcd.range(
            keyspace.inboxPrefix, end: EtcdClient.prefixEnd(keyspace.inboxPrefix), revision: revision)
        var entries: [(node: String, batch: String, bytes: [UInt8])] = []
        for kv in inbox.kvs {
            if case .inbox(let node, let batch)? = keyspace.parse(kv.key) { entries.append((node, batch, kv.value)) }
        }
        committer.deliver([.inboxReplaced(entries)])
        return revision
    }

    /// The committer's events for a batch of etcd events, in order.
    private func events(of batch: [Mvccpb_Event]) -> [ClusterCommitter.Event] {
        var events: [ClusterCommitter.Event] = []
        for event in batch {
            guard let kv = event.kv, let key = keyspace.parse(kv.key) else { continue }
            let isPut = event.type == .put
            switch key {
            case .block(let height) where isPut: events.append(.block(height: height, bytes: kv.value))
            case .inbox(let node, let batch):
                events.append(isPut ? .inboxPut(node: node, batch: batch, bytes: kv.value) : .inboxDeleted(node: node, batch: batch))
            case .outcome(let node, let batch) where isPut && node == nodeID:
                events.append(.outcome(batch: batch, bytes: kv.value))
            case .node where isPut:
                if let key = try? Self.decodeNodeKey(kv.value) { nodeKeys.add(key) }
            default: break
            }
        }
        return events
    }

    // MARK: Election

    private func campaignLoop(_ committer: ClusterCommitter) async {
        while !Task.isCancelled {
            do {
                try await campaign(committer)
            } catch {
                if Task.isCancelled { return }
                logger.warning("the leader election was interrupted; trying again", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// One round: tries to create the leader key under a new lease; the winner leads until its lease ends or a
    /// proposal shows it was superseded, a loser waits for the key to go.
    private func campaign(_ committer: ClusterCommitter) async throws {
        let lease = try await etcd.grantLease(ttlSeconds: leaseTTLSeconds)
        let request = Etcdserverpb_TxnRequest(
            if: [.createRevision(of: keyspace.leader, .equal, 0)],
            then: [.put(keyspace.leader, Array("\(nodeID) \(advertisedAddress)".utf8), lease: lease.id)])
        let response = try await etcd.txn(request)
        guard response.succeeded else {
            try? await etcd.revokeLease(lease.id)
            try await waitForLeaderToGo(after: response.header?.revision ?? 0)
            return
        }
        heldLease.withLock { $0 = lease.id }
        let keepAlive = etcd.keepAlive(lease: lease.id)
        let fence = LeaderFence(
            leaderKeyRevision: response.header?.revision ?? 0, lease: lease.id, headAtElection: try await readHead())
        logger.notice(
            "this node leads the cluster", metadata: ["cluster_head": "\(fence.headAtElection)", "lease": "\(lease.id)"])
        committer.setRole(.leader(fence))
        if fence.headAtElection == 0 {
            // The first leader of a new chain commits its first, empty block.
            Task { _ = await committer.submit(.emptyBlock) }
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // The events end when the lease does: it expired, or no etcd member renewed it in time.
                for await event in keepAlive.events {
                    if case .streamLost(let failure) = event {
                        self.logger.warning("renewing the leader's lease: a stream was lost", metadata: ["failure": "\(failure)"])
                    }
                }
            }
            group.addTask {
                await withCheckedContinuation { continuation in
                    self.lostLeadership.withLock { $0[fence.leaderKeyRevision] = continuation }
                }
            }
            await group.next()
            group.cancelAll()
            self.leadershipLost(fence)
        }
        keepAlive.cancel()
        committer.stepDown(from: fence)
        logger.notice("this node no longer leads the cluster")
        guard !Task.isCancelled else { return }  // stop() revokes the lease
        heldLease.withLock { $0 = nil }
        try? await etcd.revokeLease(lease.id)
    }

    /// Returns once the leader key is gone (its lease ended or was revoked).
    private func waitForLeaderToGo(after revision: Int64) async throws {
        let current = try await etcd.range(keyspace.leader)
        guard !current.kvs.isEmpty else { return }
        for try await batch in etcd.watch(keyspace.leader, startRevision: (current.header?.revision ?? revision) + 1) {
            if batch.events.contains(where: { $0.type == .delete }) { return }
        }
    }
}
