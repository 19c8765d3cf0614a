import EtcdClient
import EtcdTestSupport
import EtcdProtos
import Foundation
import HTTP2Transport
import RPCCore
import Testing

/// TLS, mutual TLS, and a three-member cluster losing the member the client uses.
@Suite("etcd: TLS and failover", .serialized)
struct EtcdTLSAndFailoverTests {
    /// A development CA and a server certificate for 127.0.0.1, in a fresh temporary directory.
    static func makeCertificates() throws -> DevelopmentCertificate {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("hl-etcd-tls-\(UUID().uuidString)").path
        return try DevelopmentCertificate.generate(
            commonName: "127.0.0.1", subjectAltNames: ["IP:127.0.0.1", "DNS:localhost"], directory: directory)
    }

    @Test("over TLS the client verifies etcd against its CA, and a client trusting another CA is refused")
    func serverTLS() async throws {
        let certificates = try Self.makeCertificates()
        let stranger = try Self.makeCertificates()
        try await EtcdTestCluster.with(tls: .init(certificates: certificates, requireClientCertificates: false)) {
            cluster in
            let client = try cluster.client()
            try await client.put("tls/key".bytes, "secret".bytes)
            #expect(try await client.range("tls/key".bytes).kvs.map(\.value.text) == ["secret"])
            await client.close()

            let untrusting = try EtcdClient(
                endpoints: cluster.endpoints,
                tls: TLSClientConfiguration(trustRootsPEMPath: stranger.certificateAuthorityPath),
                callTimeout: .seconds(1))
            do {
                try await untrusting.put("tls/key".bytes, "overwritten".bytes)
                Issue.record("a client that does not trust etcd's certificate wrote")
            } catch let error as EtcdError {
                // The handshake failed before any request left: a Put that is not "outcome unknown".
                guard case .unavailable(let failures) = error else { throw error }
                #expect(failures.first?.error.message.contains("certificate verify failed") == true, "\(failures)")
            }
            await untrusting.close()
        }
    }

    @Test("with --client-cert-auth etcd takes a client with a certificate from its CA, and refuses one without")
    func mutualTLS() async throws {
        let certificates = try Self.makeCertificates()
        try await EtcdTestCluster.with(tls: .init(certificates: certificates, requireClientCertificates: true)) {
            cluster in
            let client = try cluster.client()  // presents a certificate issued by the cluster's CA
            try await client.put("mtls/key".bytes, "v".bytes)
            #expect(try await client.range("mtls/key".bytes).count == 1)
            await client.close()

            let anonymous = try EtcdClient(
                endpoints: cluster.endpoints,
                tls: TLSClientConfiguration(trustRootsPEMPath: certificates.certificateAuthorityPath),
                callTimeout: .seconds(1))
            await #expect(throws: EtcdError.self) { _ = try await anonymous.range("mtls/key".bytes) }
            await anonymous.close()
        }
    }

    @Test(
        "three members: the one the client uses is killed; calls and an open watch go on through another, no event lost"
    )
    func clusterFailover() async throws {
        try await EtcdTestCluster.with(size: 3) { cluster in
            let client = try cluster.client(callTimeout: .seconds(10))
            let prefix = "replication/".bytes
            let end = EtcdClient.prefixEnd(prefix)
            let start = try #require(try await client.put(prefix + "0".bytes, "0".bytes).header?.revision)
            let watch = client.watch(prefix, end: end, startRevision: start)
            var iterator = watch.makeAsyncIterator()
            var seen: [String] = []
            var revisions: [Int64] = []
            func read(until count: Int) async throws {
                while Set(seen).count < count {
                    let batch = try #require(try await iterator.next(), "the watch ended")
                    seen += batch.events.map { $0.kv!.key.text + "=" + $0.kv!.value.text }
                    revisions += batch.events.map { $0.kv!.modRevision }
                }
            }
            // A write that reached a member and lost its answer (etcd electing a new Raft leader after the kill
            // answers "request timed out") is settled as the client's contract says: read, then send it again.
            func put(_ key: [UInt8], _ value: [UInt8]) async throws {
                while true {
                    do {
                        try await client.put(key, value)
                        return
                    } catch EtcdError.outcomeUnknown {
                        if try await client.range(key).kvs.first?.value == value { return }
                    }
                }
            }

            for index in 1...5 { try await client.put(prefix + "\(index)".bytes, "\(index)".bytes) }
            try await read(until: 6)
            let before = try await client.status()
            #expect(before.header?.memberId != nil)
            // A node's liveness key, its lease kept alive through member0 until it dies.
            let lease = try await client.grantLease(ttlSeconds: 2)
            try await client.put("nodes/n1".bytes, "alive".bytes, lease: lease.id)
            let keepAlive = client.keepAlive(lease: lease.id)
            var events = keepAlive.events.makeAsyncIterator()
            #expect(await events.next() == .renewed(ttl: 2, endpoint: cluster.endpoints[0]))

            // The client has used member0 (the first endpoint) so far; it dies mid-stream.
            cluster.kill(member: 0)

            for index in 6...15 { try await put(prefix + "\(index)".bytes, "\(index)".bytes) }
            let range = try await client.range(prefix, end: end)
            #expect(range.count == 16, "every put after the kill went through")
            let txn = try await client.txn(
                .init(
                    if: [.value(of: prefix + "15".bytes, .equal, "15".bytes)],
                    then: [.put(prefix + "16".bytes, "16".bytes)]))
            #expect(txn.succeeded)
            let status = try await client.status()
            #expect(status.header?.memberId != before.header?.memberId, "answered by a surviving member")

            try await read(until: 17)
            // Every change once, in revision order (a put etcd applied twice is two changes, each seen once).
            #expect(revisions == revisions.sorted() && Set(revisions).count == revisions.count, "\(revisions)")
            var firstSeen: [String] = []
            for event in seen where !firstSeen.contains(event) { firstSeen.append(event) }
            #expect(firstSeen == (0...16).map { "replication/\($0)=\($0)" }, "every key, in order")

            // The keep-alive lost member0's stream and renews through another member; the key outlives its TTL.
            var lost = false
            var renewedElsewhere = 0
            while renewedElsewhere < 4, let event = await events.next() {
                switch event {
                case .streamLost(let failure): lost = lost || failure.endpoint == cluster.endpoints[0]
                case .renewed(_, let endpoint) where endpoint != cluster.endpoints[0]: renewedElsewhere += 1
                default: break
                }
            }
            #expect(lost && renewedElsewhere == 4, "lost member0: \(lost), renewals elsewhere: \(renewedElsewhere)")
            #expect(try await client.range("nodes/n1".bytes).count == 1, "alive past its TTL, member0 gone")
            keepAlive.cancel()
            await client.close()
        }
    }

    @Test("a Put whose member goes away before answering is 'outcome unknown'; a Range in the same spot moves on")
    func outcomeUnknown() async throws {
        try await EtcdTestCluster.with { cluster in
            // A member that takes calls and never answers, then goes away with them in flight.
            let silent = GRPCServer(
                configuration: ServerConfiguration(host: "127.0.0.1", port: 0),
                services: [SilentKeyValueStore().serviceDefinition])
            let silentPort = try silent.start()
            let silentEndpoint = EtcdEndpoint(host: "127.0.0.1", port: silentPort)
            let client = try EtcdClient(endpoints: [silentEndpoint] + cluster.endpoints, callTimeout: .seconds(10))

            let put = Task { try await client.put("ledger/head".bytes, "block-9".bytes) }
            let range = Task { try await client.range("ledger/head".bytes) }
            try await Task.sleep(for: .milliseconds(500))  // both calls are now waiting on the silent member
            await silent.shutdown(gracePeriod: .milliseconds(100))

            let putOutcome = await put.result
            guard case .failure(let failure) = putOutcome, let error = failure as? EtcdError,
                case .outcomeUnknown(let endpoint, _) = error
            else {
                Issue.record("expected outcome unknown, got \(putOutcome)")
                return
            }
            #expect(endpoint == silentEndpoint)
            let read = try await range.value
            #expect(read.count == 0, "answered by etcd, where the Put never arrived: the caller must check")
            #expect(try await client.status().header?.memberId != 0)
            await client.close()
        }
    }
}

/// An etcd KV service that takes every call and never answers: a member that hangs mid-call.
struct SilentKeyValueStore: Etcdserverpb_KVService {
    private func hang<Response>() async throws -> Response {
        try await Task.sleep(for: .seconds(3600))
        throw RPCError(.internalError, "unreachable")
    }

    func range(request: Etcdserverpb_RangeRequest, context: ServerContext) async throws -> Etcdserverpb_RangeResponse {
        try await hang()
    }

    func put(request: Etcdserverpb_PutRequest, context: ServerContext) async throws -> Etcdserverpb_PutResponse {
        try await hang()
    }

    func deleteRange(
        request: Etcdserverpb_DeleteRangeRequest, context: ServerContext
    ) async throws -> Etcdserverpb_DeleteRangeResponse {
        try await hang()
    }

    func txn(request: Etcdserverpb_TxnRequest, context: ServerContext) async throws -> Etcdserverpb_TxnResponse {
        try await hang()
    }

    func compact(
        request: Etcdserverpb_CompactionRequest, context: ServerContext
    ) async throws -> Etcdserverpb_CompactionResponse {
        try await hang()
    }
}
