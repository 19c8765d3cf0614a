import RPCCore

/// One call as the interceptors report it once it has ended: which method, how it ended, how long it took.
struct FinishedCall: Sendable {
    /// The method called.
    var method: MethodDescriptor
    /// The status it ended with: nil for OK.
    var failure: RPCError?
    /// From when the interceptor saw the call start to when it saw it end.
    var duration: Duration

    /// The status code, OK when there was no failure.
    var code: RPCError.Code { failure?.code ?? .ok }

    /// The duration in milliseconds, to the microsecond (OpenTelemetry's unit for rpc.*.duration).
    var milliseconds: Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1_000 + Double(attoseconds / 1_000_000_000_000) / 1_000
    }
}

extension FinishedCall {
    /// Runs a served call (`body`, the rest of the interceptor chain) to its end and passes how it ended to
    /// `finished`, then returns or rethrows as the call did.
    ///
    /// A handler that ignores cancellation may return normally after the transport tore the call down (the
    /// client went away, the deadline passed); its client did not see OK, so that is reported as CANCELLED.
    static func measuringServedCall(
        _ method: MethodDescriptor, _ body: () async throws -> Void, finished: (FinishedCall) -> Void
    ) async throws {
        let start = ContinuousClock.now
        do {
            try await body()
        } catch {
            let failure = RPCError(convertingHandlerError: error)
            finished(FinishedCall(method: method, failure: failure, duration: start.duration(to: .now)))
            throw error
        }
        let failure = Task.isCancelled ? RPCError(.cancelled, "the call was cancelled") : nil
        finished(FinishedCall(method: method, failure: failure, duration: start.duration(to: .now)))
    }

    /// Starts a client call (`body`, the rest of the interceptor chain) and passes how it ended to `finished`:
    /// when its responses end, fail or are dropped, or at once when it cannot start.
    static func measuringClientCall(
        _ method: MethodDescriptor,
        _ body: () async throws -> ResponseStream<[UInt8]>,
        finished: @escaping @Sendable (FinishedCall) -> Void
    ) async throws -> ResponseStream<[UInt8]> {
        let start = ContinuousClock.now
        let responses: ResponseStream<[UInt8]>
        do {
            responses = try await body()
        } catch {
            let failure = RPCError(convertingHandlerError: error)
            finished(FinishedCall(method: method, failure: failure, duration: start.duration(to: .now)))
            throw error
        }
        return responses.onCompletion { failure in
            finished(FinishedCall(method: method, failure: failure, duration: start.duration(to: .now)))
        }
    }
}
