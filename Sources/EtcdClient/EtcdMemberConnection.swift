import EtcdProtos
import HTTP2Transport
import RPCCore

/// The generated stubs of etcd's services over one HTTP/2 connection to one member.
struct EtcdMemberConnection: Sendable {
    /// The member.
    let endpoint: EtcdEndpoint
    /// The connection (made on the first call, remade after failures).
    let transport: HTTP2ClientTransport
    let kv: Etcdserverpb_KVClient<HTTP2ClientTransport>
    let watch: Etcdserverpb_WatchClient<HTTP2ClientTransport>
    let lease: Etcdserverpb_LeaseClient<HTTP2ClientTransport>
    let cluster: Etcdserverpb_ClusterClient<HTTP2ClientTransport>
    let maintenance: Etcdserverpb_MaintenanceClient<HTTP2ClientTransport>

    /// A connection to `endpoint`, TLS when `tls` is set; calls wait at most `connectTimeout` for it, and a member
    /// that refused a connection is left alone for a short backoff (100 ms growing to 2 s) while its calls go to
    /// the others.
    init(endpoint: EtcdEndpoint, tls: TLSClientConfiguration?, connectTimeout: Duration) throws(EtcdError) {
        var configuration = ClientConfiguration(host: endpoint.host, port: endpoint.port)
        configuration.tls = tls
        configuration.backoff = ConnectionBackoff(
            initial: .milliseconds(100), multiplier: 1.6, jitter: 0.2, maximum: .seconds(2),
            minimumConnectTimeout: connectTimeout)
        // A member that vanished without closing the connection (power loss, partition) fails the open watches
        // and keep-alives within 15 s instead of never; etcd lets clients ping every 5 s (--grpc-keepalive-min-time).
        configuration.keepalive = ClientKeepalive(time: .seconds(10), timeout: .seconds(5))
        configuration.userAgent = "healthledger-etcd-client/0.1.0"
        do {
            transport = try HTTP2ClientTransport(configuration: configuration)
        } catch {
            throw .tlsConfiguration("\(error)")
        }
        self.endpoint = endpoint
        kv = Etcdserverpb_KVClient(transport: transport)
        watch = Etcdserverpb_WatchClient(transport: transport)
        lease = Etcdserverpb_LeaseClient(transport: transport)
        cluster = Etcdserverpb_ClusterClient(transport: transport)
        maintenance = Etcdserverpb_MaintenanceClient(transport: transport)
    }

    /// Options for the streams (Watch, LeaseKeepAlive): etcd's "hasleader" metadata makes a member that lost its
    /// leader end them ("etcdserver: no leader"), so they move to a member that has one instead of going quiet.
    static let requireLeader: CallOptions = {
        var options = CallOptions()
        options.metadata.add("true", forKey: "hasleader")
        return options
    }()
}
