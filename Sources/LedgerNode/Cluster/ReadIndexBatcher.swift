import RPCCore
import Synchronization

/// Shares the read index among concurrent decisions. A decision needs a linearizable read of the cluster's head that
/// began after the decision's call arrived. One read serves every caller that was waiting when it began; callers
/// arriving while it is in flight wait for the next one. Under load, the reads per second stay at the rate of
/// etcd round trips while the decisions per second grow.
final class ReadIndexBatcher: Sendable {
    private typealias Waiter = CheckedContinuation<Result<UInt64, RPCError>, Never>

    private struct Rounds {
        var reading = false
        var waiting: [Waiter] = []
    }

    private let rounds = Mutex(Rounds())
    private let read: @Sendable () async throws(RPCError) -> UInt64

    /// A batcher whose rounds call `read`.
    init(read: @escaping @Sendable () async throws(RPCError) -> UInt64) {
        self.read = read
    }

    /// The cluster's head height, read after this call began.
    func headHeight() async throws(RPCError) -> UInt64 {
        let result = await withCheckedContinuation { (waiter: Waiter) in
            let startsReading = rounds.withLock { rounds -> Bool in
                rounds.waiting.append(waiter)
                guard !rounds.reading else { return false }
                rounds.reading = true
                return true
            }
            if startsReading { Task { await self.readRounds() } }
        }
        return try result.get()
    }

    private func readRounds() async {
        while true {
            let round = rounds.withLock { rounds -> [Waiter] in
                let round = rounds.waiting
                rounds.waiting = []
                if round.isEmpty { rounds.reading = false }
                return round
            }
            if round.isEmpty { return }
            let result: Result<UInt64, RPCError>
            do throws(RPCError) { result = .success(try await read()) } catch { result = .failure(error) }
            for waiter in round { waiter.resume(returning: result) }
        }
    }
}
