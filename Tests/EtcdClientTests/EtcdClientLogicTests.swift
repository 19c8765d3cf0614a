import EtcdProtos
import RPCCore
import Testing

@testable import EtcdClient

/// The client's decisions without a server: endpoints, prefixes, etcd's errors, failover and watch resumption.
@Suite("etcd client logic")
struct EtcdClientLogicTests {
    static let member = EtcdEndpoint(host: "10.0.0.1", port: 2379)

    @Test("endpoints parse from host:port, [v6]:port and http(s) URLs; anything else is refused")
    func endpoints() throws {
        #expect(try EtcdEndpoint(parsing: "127.0.0.1:2379") == EtcdEndpoint(host: "127.0.0.1", port: 2379))
        #expect(try EtcdEndpoint(parsing: "http://etcd-1:2379") == EtcdEndpoint(host: "etcd-1", port: 2379))
        #expect(
            try EtcdEndpoint(parsing: "https://etcd-1.example:12379/")
                == EtcdEndpoint(host: "etcd-1.example", port: 12379))
        #expect(try EtcdEndpoint(parsing: "[::1]:2379") == EtcdEndpoint(host: "::1", port: 2379))
        #expect(EtcdEndpoint(host: "::1", port: 2379).description == "[::1]:2379")
        for bad in ["etcd-1", "etcd-1:", ":2379", "etcd-1:http", "etcd-1:70000", "::1:2379", "http://etcd/v3:2379", ""]
        {
            #expect(throws: EtcdError.invalidEndpoint(bad), "\(bad)") { try EtcdEndpoint(parsing: bad) }
        }
    }

    @Test("a prefix's range end is the prefix with its last byte below 0xff increased")
    func prefixEnds() {
        #expect(EtcdClient.prefixEnd(Array("aa".utf8)) == Array("ab".utf8))
        #expect(EtcdClient.prefixEnd([0x61, 0xff]) == [0x62])
        #expect(EtcdClient.prefixEnd([0x61, 0xff, 0xff]) == [0x62])
        #expect(EtcdClient.prefixEnd([0xff, 0xff]) == [0], "every key from the prefix on")
        #expect(EtcdClient.prefixEnd([]) == [0])
    }

    @Test("etcd's errors are recognised by their message, with the code etcd sends them with")
    func serverErrors() {
        let lease = EtcdServerError(RPCError(.notFound, "etcdserver: requested lease not found"), endpoint: Self.member)
        #expect(lease.reason == .leaseNotFound && lease.code == .notFound)
        let compacted = EtcdServerError(
            RPCError(.outOfRange, "etcdserver: mvcc: required revision has been compacted"), endpoint: Self.member)
        #expect(compacted.reason == .compacted)
        #expect(
            EtcdServerError(RPCError(.unavailable, "etcdserver: no leader"), endpoint: Self.member).reason == .noLeader)
        #expect(EtcdServerError(RPCError(.internalError, "something new"), endpoint: Self.member).reason == nil)
        #expect(EtcdError.server(lease).serverReason == .leaseNotFound)
    }

    @Test("failover: reads move on after UNAVAILABLE; writes only when etcd never took them, else outcome unknown")
    func failoverDecisions() {
        let lost = RPCError(.unavailable, "connection to 10.0.0.1:2379 closed: the peer closed the connection")
        let neverSent = RPCError(.unavailable, "connection to 10.0.0.1:2379 failed: Connection refused")
            .markedUnprocessed()
        let noLeader = RPCError(.unavailable, "etcdserver: no leader")
        let dropped = RPCError(.unknown, "raft proposal dropped")
        let timedOut = RPCError(.unavailable, "etcdserver: request timed out")
        let deadline = RPCError(.deadlineExceeded, "deadline exceeded after 5.0 seconds")
        let notFound = RPCError(.notFound, "etcdserver: requested lease not found")
        func decide(_ error: RPCError, _ kind: EtcdFailover.CallKind) -> EtcdFailover.Decision {
            EtcdFailover.decide(after: error, kind: kind, endpoint: Self.member)
        }

        for error in [lost, neverSent, noLeader, dropped, timedOut, deadline] {
            #expect(decide(error, .read) == .tryNextEndpoint, "\(error)")
        }
        for error in [neverSent, noLeader, dropped] {
            #expect(decide(error, .write) == .tryNextEndpoint, "\(error): etcd did not apply it")
        }
        for error in [lost, timedOut, deadline] {
            #expect(decide(error, .write) == .fail(.outcomeUnknown(endpoint: Self.member, cause: error)), "\(error)")
        }
        let answer = EtcdError.server(EtcdServerError(notFound, endpoint: Self.member))
        #expect(decide(notFound, .read) == .fail(answer))
        #expect(decide(notFound, .write) == .fail(answer))
    }

    @Test("endpoints take turns; rounds that all failed pause 50 ms, doubling up to 1 s")
    func rotationAndPauses() {
        #expect((0..<4).map { EtcdFailover.endpoint(after: $0, count: 3) } == [1, 2, 0, 1])
        #expect(
            (1...7).map { EtcdFailover.pause(afterRound: $0) }
                == [50, 100, 200, 400, 800, 1000, 1000].map {
                    Duration.milliseconds($0)
                })
    }

    /// A WatchResponse at `revision` with events at the given revisions.
    static func response(revision: Int64, events: [Int64] = [], created: Bool = false) -> Etcdserverpb_WatchResponse {
        var response = Etcdserverpb_WatchResponse()
        var header = Etcdserverpb_ResponseHeader()
        header.revision = revision
        response.header = header
        response.created = created
        response.events = events.map { modRevision in
            var event = Mvccpb_Event()
            var kv = Mvccpb_KeyValue()
            kv.key = Array("k".utf8)
            kv.modRevision = modRevision
            event.kv = kv
            return event
        }
        return response
    }

    @Test("a watch resumes after the last revision it delivered, or after a progress notification's revision")
    func watchResumption() {
        var progress = EtcdWatchProgress(nextRevision: 5)
        #expect(progress.handle(Self.response(revision: 9, created: true)) == .skip)
        #expect(progress.nextRevision == 5, "creation at a later revision says nothing about the events from 5")
        guard case .deliver(let batch) = progress.handle(Self.response(revision: 9, events: [5, 6, 6])) else {
            Issue.record("events not delivered")
            return
        }
        #expect(batch.revision == 9 && batch.events.count == 3)
        #expect(progress.nextRevision == 7)
        #expect(progress.handle(Self.response(revision: 12)) == .deliver(EtcdWatchBatch(revision: 12, events: [])))
        #expect(progress.nextRevision == 13, "a progress notification passed revision 12 entirely")

        var fromNow = EtcdWatchProgress(nextRevision: 0)
        #expect(fromNow.handle(Self.response(revision: 40, created: true)) == .skip)
        #expect(fromNow.nextRevision == 41)
    }

    @Test("a resumed watch asks for the next revision; a compacted one fails naming the compact revision")
    func watchRequestsAndCompaction() {
        var base = Etcdserverpb_WatchCreateRequest()
        base.key = Array("a".utf8)
        base.rangeEnd = Array("b".utf8)
        let progress = EtcdWatchProgress(nextRevision: 17)
        guard case .createRequest(let create)? = progress.createRequest(base).requestUnion else {
            Issue.record("not a create request")
            return
        }
        #expect(create.startRevision == 17 && create.key == base.key && create.rangeEnd == base.rangeEnd)

        var compacted = EtcdWatchProgress(nextRevision: 3)
        var response = Self.response(revision: 30)
        response.canceled = true
        response.compactRevision = 25
        #expect(compacted.handle(response) == .fail(.compacted(compactRevision: 25)))
        var cancelled = EtcdWatchProgress(nextRevision: 3)
        response.compactRevision = 0
        response.cancelReason = "permission denied"
        #expect(cancelled.handle(response) == .fail(.watchCancelled(reason: "permission denied")))
    }

    @Test("transaction helpers fill in etcd's Compare and RequestOp fields")
    func transactionHelpers() {
        let key = Array("head".utf8)
        let compare = Etcdserverpb_Compare.modRevision(of: key, .less, 9)
        #expect(compare.key == key && compare.target == .mod && compare.result == .less)
        #expect(compare.targetUnion == .modRevision(9))
        #expect(Etcdserverpb_Compare.value(of: key, .equal, [1]).targetUnion == .value([1]))
        #expect(Etcdserverpb_Compare.createRevision(of: key, .equal, 0).target == .create)
        #expect(Etcdserverpb_Compare.version(of: key, .greater, 1).forRange(end: [0]).rangeEnd == [0])
        let txn = Etcdserverpb_TxnRequest(if: [compare], then: [.put(key, [2], lease: 7)], else: [.range(key)])
        guard case .requestPut(let put)? = txn.success.first?.request else {
            Issue.record("not a put")
            return
        }
        #expect(put.key == key && put.value == [2] && put.lease == 7)
        #expect(txn.failure.count == 1 && txn.compare == [compare])
    }
}
