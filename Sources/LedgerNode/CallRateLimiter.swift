import GRPCProtos
import GRPCStatusDetails
import Glibc
import LedgerCrypto
import Metrics
import RPCCore

/// How many calls a node serves each caller before answering RESOURCE_EXHAUSTED, so one noisy client cannot take
/// the node's time from the others. nil turns a limit off.
public struct RateLimits: Sendable {
    /// Calls charged to a principal: those with a session, and signed transactions (charged to their author).
    public var perPrincipal: RateLimit?
    /// Calls without a principal (session sign-in, public chain and proof reads, a session that is not valid),
    /// charged to the caller's IP address (IPv6: its /64, which one host commonly holds whole).
    public var perAddress: RateLimit?
    /// Callers each limit remembers at most, bounding its memory under a flood of distinct callers.
    public var maxTrackedCallers: Int
    /// Monotonic nanoseconds the buckets refill by; replaceable in tests.
    public var clock: @Sendable () -> UInt64

    /// Defaults a heavy interactive client never reaches: 200 calls/s per principal (burst 400), 100/s per address
    /// (burst 200), 65,536 callers per limit.
    public init(
        perPrincipal: RateLimit? = RateLimits.defaultPerPrincipal, perAddress: RateLimit? = RateLimits.defaultPerAddress,
        maxTrackedCallers: Int = 65_536, clock: @escaping @Sendable () -> UInt64 = RateLimits.monotonicClock
    ) {
        self.perPrincipal = perPrincipal
        self.perAddress = perAddress
        self.maxTrackedCallers = maxTrackedCallers
        self.clock = clock
    }

    /// No limit at all (load generators, tests that measure throughput).
    public static var unlimited: RateLimits { RateLimits(perPrincipal: nil, perAddress: nil) }

    /// 200 calls/s, burst 400.
    public static let defaultPerPrincipal = RateLimit(calls: 200, per: .seconds(1), burst: 400)
    /// 100 calls/s, burst 200.
    public static let defaultPerAddress = RateLimit(calls: 100, per: .seconds(1), burst: 200)

    /// CLOCK_MONOTONIC in nanoseconds: unaffected by wall-clock steps.
    public static let monotonicClock: @Sendable () -> UInt64 = {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}

/// The node's rate limits at work: charges each call to its principal or address and turns a refusal into
/// RESOURCE_EXHAUSTED with a google.rpc.RetryInfo.
///
/// Refusals are counted (healthledger_rate_limited_total) but not audited: no patient's data is decided on or
/// released, and an audit entry per refused call would let a noisy client turn its flood into ledger writes, the
/// very load the limit keeps off the node.
final class CallRateLimiter: Sendable {
    private let principals: RateLimiter?
    private let addresses: RateLimiter?
    private let principalRefusals = Counter(label: "healthledger_rate_limited_total", dimensions: [("limit", "principal")])
    private let addressRefusals = Counter(label: "healthledger_rate_limited_total", dimensions: [("limit", "address")])

    init(_ limits: RateLimits) {
        principals = limits.perPrincipal.map {
            RateLimiter(limit: $0, maxCallers: limits.maxTrackedCallers, clock: limits.clock)
        }
        addresses = limits.perAddress.map {
            RateLimiter(limit: $0, maxCallers: limits.maxTrackedCallers, clock: limits.clock)
        }
    }

    /// Charges one call to `principal`; RESOURCE_EXHAUSTED when over its limit.
    func charge(principal: PrincipalID) throws(RPCError) {
        guard let principals else { return }
        if case .refused(let wait) = principals.charge(principal.text) {
            principalRefusals.increment()
            throw Self.refusal("principal \(principal)", limit: principals.limit, retryAfter: wait)
        }
    }

    /// RESOURCE_EXHAUSTED when `author`'s bucket is empty, without charging: lets a signed transaction be refused
    /// before its signature is checked. Taking nothing keeps a forger naming someone else as author from draining
    /// their bucket; the real charge follows the signature check.
    func refuseEarly(author: PrincipalID) throws(RPCError) {
        guard let principals else { return }
        if case .refused(let wait) = principals.peek(author.text) {
            principalRefusals.increment()
            throw Self.refusal("principal \(author)", limit: principals.limit, retryAfter: wait)
        }
    }

    /// Charges one call without a principal to the caller's address; RESOURCE_EXHAUSTED when over its limit.
    func charge(peer: String) throws(RPCError) {
        guard let addresses else { return }
        let address = Self.address(ofPeer: peer)
        if case .refused(let wait) = addresses.charge(address) {
            addressRefusals.increment()
            throw Self.refusal("address \(address)", limit: addresses.limit, retryAfter: wait)
        }
    }

    /// RESOURCE_EXHAUSTED naming the limit and the wait, with the wait as a google.rpc.RetryInfo (which gRPC
    /// clients that honour it use as their back-off) and the caller as a google.rpc.QuotaFailure.
    static func refusal(_ caller: String, limit: RateLimit, retryAfter nanoseconds: UInt64) -> RPCError {
        let milliseconds = max((nanoseconds + 999_999) / 1_000_000, 1)
        var delay = Google_Protobuf_Duration()
        delay.seconds = Int64(milliseconds / 1_000)
        delay.nanos = Int32(milliseconds % 1_000) * 1_000_000
        var retry = Google_Rpc_RetryInfo()
        retry.retryDelay = delay
        var violation = Google_Rpc_QuotaFailure.Violation()
        violation.subject = caller
        violation.description = "over the limit of \(limit)"
        var quota = Google_Rpc_QuotaFailure()
        quota.violations = [violation]
        return RPCError(
            code: .resourceExhausted,
            message: "rate limit: \(caller) is over its limit of \(limit); retry in \(milliseconds) ms",
            details: [.retryInfo(retry), .quotaFailure(quota)])
    }

    /// The address part of a gRPC peer ("ipv4:192.0.2.7:51234" → "192.0.2.7"); an IPv6 peer's /64, or its IPv4
    /// address when it is IPv4-mapped (a dual-stack listener's IPv4 clients), so that each IPv4 client keeps its
    /// own bucket. Any other peer ("in-process", "unix:…") is its own key.
    static func address(ofPeer peer: String) -> String {
        if peer.hasPrefix("ipv4:") {
            let address = peer.dropFirst(5)
            guard let colon = address.lastIndex(of: ":") else { return String(address) }
            return String(address[..<colon])
        }
        guard peer.hasPrefix("ipv6:["), let close = peer.firstIndex(of: "]") else { return peer }
        let text = String(peer[peer.index(peer.startIndex, offsetBy: 6)..<close])
        var raw = in6_addr()
        guard inet_pton(AF_INET6, text, &raw) == 1 else { return text }
        var bytes = withUnsafeBytes(of: raw) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return bytes[12..<16].map(String.init).joined(separator: ".")
        }
        for index in 8..<16 { bytes[index] = 0 }
        withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: bytes) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        guard inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count)) != nil else { return text }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/64"
    }
}
