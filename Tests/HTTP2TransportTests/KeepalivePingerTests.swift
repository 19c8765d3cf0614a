@testable import HTTP2Transport
import Testing

/// The keepalive decisions alone, with times given in nanoseconds: no sockets, no clocks.
@Suite("Keepalive pinger")
struct KeepalivePingerTests {
    private let second: UInt64 = 1_000_000_000

    private func pinger(permitWithoutCalls: Bool = false) -> KeepalivePinger {
        KeepalivePinger(time: .seconds(10), timeout: .seconds(2), permitWithoutCalls: permitWithoutCalls)
    }

    @Test("a connection that heard from its peer recently waits out the rest of the quiet time")
    func waitsForTheRestOfTheQuietTime() {
        var keepalive = pinger()
        let step = keepalive.next(now: 14 * second, lastReceivedAt: 10 * second, callsOpen: true)
        #expect(step == .wait(.seconds(6)))
        #expect(keepalive.pingSentAt == nil)
    }

    @Test("after the quiet time with calls open, a PING goes out, then the ACK is awaited for the timeout")
    func pingsThenAwaitsTheAck() {
        var keepalive = pinger()
        let ping = keepalive.next(now: 20 * second, lastReceivedAt: 10 * second, callsOpen: true)
        #expect(ping == .sendPing)
        #expect(keepalive.pingSentAt == 20 * second)
        let awaiting = keepalive.next(now: 21 * second, lastReceivedAt: 10 * second, callsOpen: true)
        #expect(awaiting == .wait(.seconds(1)))
        let gone = keepalive.next(now: 22 * second, lastReceivedAt: 10 * second, callsOpen: true)
        #expect(gone == .peerGone)
    }

    @Test("an acknowledged PING starts the quiet time over; a second ACK finds nothing outstanding")
    func acknowledgementResets() {
        var keepalive = pinger()
        _ = keepalive.next(now: 20 * second, lastReceivedAt: 10 * second, callsOpen: true)
        let first = keepalive.acknowledged()
        let second = keepalive.acknowledged()
        #expect(first && !second)
        let step = keepalive.next(now: 21 * self.second, lastReceivedAt: 20 * self.second, callsOpen: true)
        #expect(step == .wait(.seconds(9)))
    }

    @Test("with no calls open, no PING unless permitted")
    func noCallsNoPingUnlessPermitted() {
        var strict = pinger()
        let strictStep = strict.next(now: 20 * second, lastReceivedAt: 0, callsOpen: false)
        #expect(strictStep == .wait(.seconds(10)))
        var permissive = pinger(permitWithoutCalls: true)
        let permissiveStep = permissive.next(now: 20 * second, lastReceivedAt: 0, callsOpen: false)
        #expect(permissiveStep == .sendPing)
    }
}
