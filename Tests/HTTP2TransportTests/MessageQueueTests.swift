import RPCCore
import Synchronization
import Testing

@testable import HTTP2Transport

/// The queues between handler tasks and the loop, and the loop's timer heap, without sockets.
@Suite("Stream queues and timers")
struct MessageQueueTests {
    @Test("a written message is framed with its length prefix and the writer's ending follows it")
    func outboundFramesAndEnds() async throws {
        let box = WakeCounter()
        let outbound = OutboundMessages(highWater: 1024, encoding: .identity, compress: false) { box.wake() }
        try await outbound.write([1, 2, 3])
        outbound.finish(.finished)
        var buffer = [UInt8](repeating: 0, count: 100)
        let result = buffer.withUnsafeMutableBytes { outbound.read(into: $0) }
        #expect(result.count == 8)
        #expect(Array(buffer[0..<8]) == [0, 0, 0, 0, 3, 1, 2, 3])
        if case .finished = result.ending {} else { Issue.record("expected the ending with the last bytes") }
        #expect(box.count == 1, "only the first write wakes a parked reader")
    }

    @Test("a writer past the high-water mark waits until the loop reads")
    func outboundBackpressure() async throws {
        let outbound = OutboundMessages(highWater: 10, encoding: .identity, compress: false) {}
        let progress = CallEvents()
        let writer = Task {
            try await outbound.write([UInt8](repeating: 9, count: 20))
            progress.record("first written")
            try await outbound.write([1])
            progress.record("second written")
        }
        // The first write is queued but leaves the queue over the mark, so the writer waits inside it.
        try await Task.sleep(for: .milliseconds(100))
        #expect(progress.all.isEmpty)
        var buffer = [UInt8](repeating: 0, count: 64)
        _ = buffer.withUnsafeMutableBytes { outbound.read(into: $0) }
        try await writer.value
        #expect(progress.all == ["first written", "second written"])
    }

    @Test("closing the outbound queue fails a waiting writer")
    func outboundCloseFailsWriter() async throws {
        let outbound = OutboundMessages(highWater: 1, encoding: .identity, compress: false) {}
        let writer = Task { try await outbound.write([1, 2, 3]) }
        try await Task.sleep(for: .milliseconds(50))
        outbound.close(RPCError(.cancelled, "gone"))
        await #expect(throws: RPCError.self) { try await writer.value }
        await #expect(throws: RPCError.self) { try await outbound.write([1]) }
    }

    @Test("the inbound queue asks for a drain notice only above its low-water mark and sends it once below")
    func inboundDrainNotice() async throws {
        let box = WakeCounter()
        let inbound = InboundMessages(lowWater: 10) { box.wake() }
        inbound.append([UInt8](repeating: 0, count: 3))
        #expect(inbound.requestDrainNotice() == false)
        inbound.append([UInt8](repeating: 0, count: 20))
        #expect(inbound.requestDrainNotice() == true)
        #expect(try await inbound.next()?.count == 3)
        #expect(box.count == 0)
        #expect(try await inbound.next()?.count == 20)
        #expect(box.count == 1)
        inbound.finish()
        #expect(try await inbound.next() == nil)
    }

    @Test("a reader waiting on the inbound queue gets a message appended later, then the error it ends with")
    func inboundWaitsThenFails() async throws {
        let inbound = InboundMessages(lowWater: 10) {}
        let reader = Task { try await inbound.next() }
        try await Task.sleep(for: .milliseconds(20))
        inbound.append([7])
        #expect(try await reader.value == [7])
        inbound.finish(throwing: RPCError(.internalError, "boom"))
        await #expect(throws: RPCError.self) { try await inbound.next() }
    }

    @Test("timers fire in deadline order and cancelled ones never fire")
    func timerOrder() {
        var timers = TimerQueue()
        var fired: [Int] = []
        _ = timers.schedule(at: 30) { fired.append(3) }
        let cancelled = timers.schedule(at: 10) { fired.append(1) }
        _ = timers.schedule(at: 20) { fired.append(2) }
        timers.cancel(cancelled)
        #expect(timers.millisecondsUntilNext(now: 0) == 1)
        while let action = timers.popExpired(now: 25) { action() }
        #expect(fired == [2])
        while let action = timers.popExpired(now: 100) { action() }
        #expect(fired == [2, 3])
        #expect(timers.millisecondsUntilNext(now: 100) == -1)
    }

    @Test("a window counter trips past its limit and resets after the window")
    func windowCounter() {
        var counter = WindowCounter(limit: 2, window: .seconds(1))
        #expect(counter.record(now: 1_000_000_000) == false)
        #expect(counter.record(now: 1_000_000_001) == false)
        #expect(counter.record(now: 1_000_000_002) == true)
        #expect(counter.record(now: 3_000_000_000) == false)
    }
}

/// Counts wake-ups from any thread.
final class WakeCounter: Sendable {
    private let wakes = Atomic<Int>(0)
    func wake() { wakes.wrappingAdd(1, ordering: .relaxed) }
    var count: Int { wakes.load(ordering: .relaxed) }
}
