import Synchronization

extension ResponseStream {
    /// These responses, calling `observe` exactly once when the call ends: with nil after an OK status, with
    /// the status as `RPCError` when it fails, or with CANCELLED when the responses are dropped before their end
    /// (which cancels the call). For client interceptors that log or measure calls.
    public func onCompletion(_ observe: @escaping @Sendable (RPCError?) -> Void) -> ResponseStream<Message> {
        let completion = ResponseCompletion(observe)
        return ResponseStream(metadata: metadata, makeNext: {
            var iterator = self.makeAsyncIterator()
            return {
                do {
                    guard let message = try await iterator.next() else {
                        completion.report(nil)
                        return nil
                    }
                    return message
                } catch {
                    completion.report(RPCError(convertingHandlerError: error))
                    throw error
                }
            }
        })
    }
}

/// Reports the end of a call once; the stream and its iterators hold it, so its going away means the reader
/// dropped the responses unfinished.
private final class ResponseCompletion: Sendable {
    private let observe: @Sendable (RPCError?) -> Void
    private let isReported = Atomic(false)

    init(_ observe: @escaping @Sendable (RPCError?) -> Void) {
        self.observe = observe
    }

    deinit {
        report(RPCError(.cancelled, "the responses were dropped before the call ended"))
    }

    /// Passes `status` on unless an earlier end was reported.
    func report(_ status: RPCError?) {
        guard !isReported.exchange(true, ordering: .acquiringAndReleasing) else { return }
        observe(status)
    }
}
