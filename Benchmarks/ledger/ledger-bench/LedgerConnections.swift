import HTTP2Transport
import HealthLedgerProtos
import ProtobufWire
import RPCCore

/// C plaintext HTTP/2 connections to one server, or spread over the nodes of a cluster (one
/// `HTTP2ClientTransport` each; a transport multiplexes every call it carries over its one connection). Worker `w`
/// uses connection `w % C`; connection `c` goes to node `c % N`.
struct LedgerConnections: Sendable {
    let transports: [HTTP2ClientTransport]
    /// The port each transport connects to.
    let ports: [Int]

    /// `count` transports to 127.0.0.1:`port` (they connect on their first call).
    init(port: Int, count: Int) throws {
        try self.init(ports: [port], count: count)
    }

    /// `count` transports, connection `c` to 127.0.0.1:`ports[c % ports.count]`.
    init(ports nodePorts: [Int], count: Int) throws {
        ports = (0..<max(1, count, nodePorts.count)).map { nodePorts[$0 % nodePorts.count] }
        transports = try ports.map { port in
            try HTTP2ClientTransport(configuration: ClientConfiguration(host: "127.0.0.1", port: port))
        }
    }

    /// The connection worker `worker` calls through.
    func transport(for worker: Int) -> HTTP2ClientTransport { transports[worker % transports.count] }

    /// Closes every connection.
    func close() async {
        for transport in transports { await transport.close() }
    }
}

/// Calls with requests encoded before the timed phase, so the load generator's own cost per call is the
/// transport's and the response decoding only.
enum RawCalls {
    /// A unary (or client-streaming) call sending `requests` as they are; returns the one response's bytes.
    static func single(
        _ transport: HTTP2ClientTransport, _ method: MethodDescriptor, _ requests: [[UInt8]],
        options: CallOptions = CallOptions()
    ) async throws -> [UInt8] {
        let responses = try await transport.call(method, requests: RequestStream(Preencoded(requests)), options: options)
        var iterator = responses.makeAsyncIterator()
        guard let first = try await iterator.next() else {
            throw RPCError(.internalError, "\(method.path): no response message")
        }
        guard try await iterator.next() == nil else {
            throw RPCError(.internalError, "\(method.path): more than one response message")
        }
        return first
    }

    /// A server-streaming call sending `request`; returns the stream of response bytes.
    static func stream(
        _ transport: HTTP2ClientTransport, _ method: MethodDescriptor, _ request: [UInt8],
        options: CallOptions = CallOptions()
    ) async throws -> ResponseStream<[UInt8]> {
        try await transport.call(method, requests: RequestStream(Preencoded([request])), options: options)
    }

    /// Decodes `bytes` as `Message`, failing the call as INTERNAL when they do not decode.
    static func decode<Message: ProtoMessage>(_ type: Message.Type, _ bytes: [UInt8]) throws -> Message {
        do { return try Message(serializedBytes: bytes) } catch {
            throw RPCError(.internalError, "undecodable \(Message.protoMessageName): \(error)")
        }
    }
}

/// A finite async sequence over messages already encoded.
struct Preencoded: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    let messages: [[UInt8]]
    init(_ messages: [[UInt8]]) { self.messages = messages }
    func makeAsyncIterator() -> Iterator { Iterator(messages: messages) }

    struct Iterator: AsyncIteratorProtocol {
        let messages: [[UInt8]]
        var index = 0
        mutating func next() async -> [UInt8]? {
            guard index < messages.count else { return nil }
            defer { index += 1 }
            return messages[index]
        }
    }
}

/// Call options with a session token.
func bearer(_ token: String) -> CallOptions {
    var options = CallOptions()
    options.metadata.add("Bearer \(token)", forKey: "authorization")
    return options
}

/// The chain head as the node reports it.
struct ChainHead: Sendable {
    var chainID: String
    var height: UInt64
    var treeSize: UInt64

    /// Asks the node through `transport`.
    static func fetch(_ transport: HTTP2ClientTransport) async throws -> ChainHead {
        let head = try await Healthledger_V1_LedgerClient(transport: transport).getChainHead(
            Healthledger_V1_GetChainHeadRequest())
        return ChainHead(chainID: head.chainId, height: head.height, treeSize: head.treeSize)
    }

    /// The head once the node's log holds at least `treeSize` entries, or as it is after `seconds`.
    static func waitFor(
        treeSize: UInt64, through transport: HTTP2ClientTransport, seconds: Int = 60
    ) async throws -> ChainHead {
        let deadline = Clock.now() + Int64(seconds) * 1_000_000_000
        while true {
            let head = try await fetch(transport)
            if head.treeSize >= treeSize || Clock.now() > deadline { return head }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// The ports of a cluster's nodes on loopback, from `--ports P1,P2,...`.
enum ClusterPorts {
    /// The listed ports, or `[port]` when the list is empty.
    static func parse(_ list: String, default port: Int) throws -> [Int] {
        guard !list.isEmpty else { return [port] }
        return try list.split(separator: ",").map { text in
            guard let value = Int(text), value > 0 else {
                throw RPCError(.invalidArgument, "--ports \(list): a comma-separated list of ports")
            }
            return value
        }
    }
}
