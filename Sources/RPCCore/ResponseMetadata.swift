import Synchronization

/// The metadata a server sends around a call's responses — the response headers' (initial) and the
/// trailers' (trailing) — filled in by the transport as they arrive and read through `ResponseStream`.
///
/// A call that ends without response headers (a Trailers-Only response, a failure before the server
/// answered) has empty initial metadata. On a failed call the trailing metadata is also `RPCError.metadata`.
public final class ResponseMetadata: Sendable {
    private struct State {
        var initial: Metadata?
        var trailing: Metadata?
        var waiters: [Int: CheckedContinuation<Metadata, any Error>] = [:]
        var nextWaiterID = 0
    }

    private let state = Mutex(State())

    /// Creates an empty record for a call whose headers have not arrived yet.
    public init() {}

    /// Creates a record that is already complete, for streams that are not a call's (tests, adapters).
    public init(initial: Metadata, trailing: Metadata) {
        state.withLock {
            $0.initial = initial
            $0.trailing = trailing
        }
    }

    /// Transport side: the response headers arrived with `metadata`. Only the first report counts.
    public func recordInitial(_ metadata: Metadata) {
        resolveInitial(with: metadata, trailing: nil)
    }

    /// Transport side: the call ended with trailers carrying `metadata` (empty when it ended without any).
    /// Record it before ending the response messages, so a reader that saw the end also sees the trailers.
    public func recordTrailing(_ metadata: Metadata) {
        resolveInitial(with: [:], trailing: metadata)
    }

    /// The response headers' metadata; waits until they arrive or the call ends without them. Throws
    /// CANCELLED when the waiting task is cancelled.
    public var initial: Metadata {
        get async throws {
            if let initial = state.withLock({ $0.initial }) { return initial }
            let id = state.withLock { state -> Int in
                defer { state.nextWaiterID += 1 }
                return state.nextWaiterID
            }
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Metadata, any Error>) in
                    let ready = state.withLock { state -> Result<Metadata, any Error>? in
                        if let initial = state.initial { return .success(initial) }
                        if Task.isCancelled { return .failure(Self.cancelled) }
                        state.waiters[id] = continuation
                        return nil
                    }
                    if let ready { continuation.resume(with: ready) }
                }
            } onCancel: {
                let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
                waiter?.resume(throwing: Self.cancelled)
            }
        }
    }

    /// The trailers' metadata once the call has ended; empty before.
    public var trailing: Metadata {
        state.withLock { $0.trailing ?? [:] }
    }

    /// Whether the call has ended (its trailing metadata is known).
    public var hasEnded: Bool {
        state.withLock { $0.trailing != nil }
    }

    private static var cancelled: RPCError { RPCError(.cancelled, "cancelled while waiting for response headers") }

    private func resolveInitial(with initial: Metadata, trailing: Metadata?) {
        let (value, waiters) = state.withLock { state -> (Metadata, [CheckedContinuation<Metadata, any Error>]) in
            if state.initial == nil { state.initial = initial }
            if let trailing, state.trailing == nil { state.trailing = trailing }
            defer { state.waiters = [:] }
            return (state.initial!, Array(state.waiters.values))
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }
}
