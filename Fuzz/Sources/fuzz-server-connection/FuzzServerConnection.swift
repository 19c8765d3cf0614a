// libFuzzer target: each input is the byte stream a client sends on one connection (HTTP/2 preface, frames, HPACK
// blocks, gRPC messages). The server is the node's: the Ledger service of a real node on a temporary data
// directory, with health and reflection, started once per process. Each input gets a fresh connection over a
// socketpair, fed its bytes while the server's answers are read, then closed once the server falls quiet.

import Foundation
import GRPCObservability
import GRPCProtos
import GRPCStandardServices
@_spi(Testing) import HTTP2Transport
import HealthLedgerProtos
import LedgerNode
import Logging
import RPCCore

/// How long the server may stay silent after the last input byte before the input counts as answered.
let quietMilliseconds: Int32 = 2
/// The longest one input may keep its connection, however chatty the server is.
let inputDeadline: Duration = .milliseconds(200)

/// The node's data directory, removed when the process exits.
let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(
    "healthledger-fuzz-\(getpid())-\(UUID().uuidString)"
).path

/// The node and the server in front of it, started on first use and kept for the process's life.
let fuzzServer: GRPCServer = {
    var logger = Logger(label: "fuzz-server-connection")
    logger.logLevel = .critical
    atexit { try? FileManager.default.removeItem(atPath: dataDirectory) }
    var configuration = LedgerNodeConfiguration(dataDirectory: dataDirectory)
    // The fuzzer opens hundreds of calls a second from one address: a rate limit would answer nearly all of them
    // before their handler ran.
    configuration.rateLimits = .unlimited
    do {
        let node = try LedgerNode.open(configuration, logger: logger)
        let genesis = DispatchSemaphore(value: 0)
        Task {
            try? await node.ensureGenesisBlock()
            genesis.signal()
        }
        genesis.wait()
        let served = try LedgerServices(node: node, logger: logger)
        var serverConfiguration = ServerConfiguration(host: "127.0.0.1", port: 0)
        serverConfiguration.eventLoopCount = 1
        serverConfiguration.eventLog = .discarding
        let server = GRPCServer(
            configuration: serverConfiguration, services: served.services, interceptors: served.interceptors)
        try server.start()
        return server
    } catch {
        fatalError("the fuzzed node did not start: \(error)")
    }
}()

/// Feeds `input` to a new server connection and reads its answers until it closes or falls quiet.
func exchange(_ input: UnsafeRawBufferPointer) {
    var pair: [Int32] = [0, 0]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
        fatalError("socketpair: \(errno)")
    }
    let (client, serverEnd) = (pair[0], pair[1])
    _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
    _ = fcntl(serverEnd, F_SETFL, fcntl(serverEnd, F_GETFL) | O_NONBLOCK)
    do {
        try fuzzServer.serveConnectedSocket(serverEnd)
    } catch {
        fatalError("\(error)")
    }
    defer { close(client) }
    let deadline = ContinuousClock.now.advanced(by: inputDeadline)
    var sent = 0
    var answer = [UInt8](repeating: 0, count: 64 * 1024)
    while ContinuousClock.now < deadline {
        let writing = sent < input.count
        var poller = pollfd(fd: client, events: Int16(POLLIN) | (writing ? Int16(POLLOUT) : 0), revents: 0)
        let ready = poll(&poller, 1, writing ? 50 : quietMilliseconds)
        if ready < 0 && errno == EINTR { continue }
        // Silence after the whole input: the server has said all it will say for now.
        guard ready > 0 else { if writing { continue } else { return } }
        if poller.revents & Int16(POLLIN) != 0 {
            let count = answer.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
            // The server closed the connection (a GOAWAY, a protocol error): nothing more will come.
            if count == 0 { return }
            if count < 0 && errno != EAGAIN && errno != EINTR { return }
        } else if poller.revents & Int16(POLLHUP | POLLERR) != 0 {
            return
        }
        if writing && poller.revents & Int16(POLLOUT) != 0 {
            let count = send(client, input.baseAddress! + sent, input.count - sent, Int32(MSG_NOSIGNAL))
            if count > 0 {
                sent += count
            } else if count < 0 && errno != EAGAIN && errno != EINTR {
                // The server closed its end while we wrote; what it answered is read above on later rounds.
                sent = input.count
            }
        }
    }
}

/// Starts the node before the first input, so its start-up is not charged to one input's time.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzServerConnectionInitialize(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> Int32 {
    _ = fuzzServer
    return 0
}

/// libFuzzer's entry point: one input, one connection.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzServerConnection(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    exchange(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
