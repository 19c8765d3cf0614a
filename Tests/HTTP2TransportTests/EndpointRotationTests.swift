import Testing

@testable import HTTP2Transport

/// The order a failover transport tries its endpoints in, event by event, without sockets.
@Suite("Endpoint rotation")
struct EndpointRotationTests {
    private static let second: UInt64 = 1_000_000_000

    @Test("given three endpoints none of which failed, calls try them from the first, in turn")
    func startsWithTheFirst() {
        let rotation = EndpointRotation(count: 3, downtime: .seconds(2))
        #expect(rotation.attemptOrder(now: 0) == [0, 1, 2])
        #expect(rotation.current == 0)
    }

    @Test("when the endpoint in use fails, calls move on to the next and try the failed one last")
    func failureMovesOn() {
        var rotation = EndpointRotation(count: 3, downtime: .seconds(2))
        rotation.failed(0, now: 10 * Self.second)
        #expect(rotation.current == 1)
        #expect(rotation.attemptOrder(now: 10 * Self.second) == [1, 2, 0])
        #expect(rotation.isDown(0, now: 11 * Self.second))
    }

    @Test("when another endpoint than the one in use fails, calls stay where they are and try it last")
    func failureElsewhereKeepsTheCurrent() {
        var rotation = EndpointRotation(count: 3, downtime: .seconds(2))
        rotation.failed(1, now: 0)
        #expect(rotation.current == 0)
        #expect(rotation.attemptOrder(now: 0) == [0, 2, 1])
    }

    @Test("once its downtime has passed, a failed endpoint takes its turn again, but calls stay where they went")
    func downtimeEnds() {
        var rotation = EndpointRotation(count: 3, downtime: .seconds(2))
        rotation.failed(0, now: 0)
        rotation.reached(1)
        #expect(rotation.attemptOrder(now: 2 * Self.second) == [1, 2, 0])
        #expect(!rotation.isDown(0, now: 2 * Self.second))
    }

    @Test("when every endpoint is down, all are still tried, the one back soonest first")
    func allDownSoonestBackFirst() {
        var rotation = EndpointRotation(count: 3, downtime: .seconds(2))
        rotation.failed(2, now: 0)
        rotation.failed(0, now: 1 * Self.second)
        rotation.failed(1, now: Self.second / 2)
        #expect(rotation.attemptOrder(now: Self.second) == [2, 1, 0])
    }

    @Test("when the endpoint in use fails and every other is down, calls move on to the next in turn")
    func failureWithAllDown() {
        var rotation = EndpointRotation(count: 2, downtime: .seconds(2))
        rotation.failed(1, now: 0)
        rotation.failed(0, now: 0)
        #expect(rotation.current == 1)
    }

    @Test("reaching an endpoint makes it the one in use and clears its downtime")
    func reachedClearsDowntime() {
        var rotation = EndpointRotation(count: 3, downtime: .seconds(2))
        rotation.failed(0, now: 0)
        rotation.failed(1, now: 0)
        rotation.reached(0)
        #expect(rotation.current == 0)
        #expect(!rotation.isDown(0, now: 0))
        #expect(rotation.attemptOrder(now: 0) == [0, 2, 1])
    }

    @Test("a single endpoint is always the one tried")
    func singleEndpoint() {
        var rotation = EndpointRotation(count: 1, downtime: .seconds(2))
        rotation.failed(0, now: 0)
        #expect(rotation.current == 0)
        #expect(rotation.attemptOrder(now: 0) == [0])
    }
}
