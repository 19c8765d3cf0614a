/// One call inside `InProcessTransport`: runs the handler, pumps the client's requests to it, and ends the
/// response stream with the call's status.
struct InProcessCall: Sendable {
    private enum Event: Sendable {
        case requestsEnded
        case requestsFailed(any Error)
        case handlerReturned
        case handlerFailed(any Error)
        case deadlineReached(after: Duration)
        case stopped
    }

    let method: ServerMethod
    let context: ServerContext
    let timeout: Duration?
    let deadline: ContinuousClock.Instant?
    let requests: MessageChannel<[UInt8]>
    let responses: MessageChannel<[UInt8]>
    /// In-process handlers have no way to send response metadata (that is `ServerCallResponse`, HTTP/2 only):
    /// the initial metadata is empty from the start and the trailing metadata is the failed status's.
    let responseMetadata: ResponseMetadata

    /// Prepares a call of `method`; `timeout` counts from now.
    init(method: ServerMethod, context: ServerContext, timeout: Duration?, capacity: Int) {
        self.method = method
        self.context = context
        self.timeout = timeout
        self.deadline = timeout.map { ContinuousClock.now.advanced(by: $0) }
        self.requests = MessageChannel(capacity: capacity)
        self.responses = MessageChannel(capacity: capacity)
        self.responseMetadata = ResponseMetadata()
        responseMetadata.recordInitial([:])
    }

    /// Runs the call to its end; the first of handler completion, deadline or failed requests decides the status.
    /// Cancelling the task running this (the client went away) cancels the handler.
    func run(sending clientRequests: RequestStream<[UInt8]>) async {
        await withTaskGroup(of: Event.self) { group in
            group.addTask { await pump(clientRequests) }
            group.addTask { await serve() }
            if let timeout, let deadline {
                group.addTask {
                    do {
                        try await Task.sleep(until: deadline, clock: .continuous)
                        return .deadlineReached(after: timeout)
                    } catch {
                        return .stopped
                    }
                }
            }
            while let event = await group.next() {
                let status: RPCError?
                switch event {
                case .requestsEnded, .stopped:
                    continue
                case .handlerReturned:
                    status = nil
                case .handlerFailed(let error):
                    status = RPCError(convertingHandlerError: error)
                case .requestsFailed(let error):
                    // grpc-java cancels a call whose request observer reports an error, with CANCELLED.
                    status = RPCError(.cancelled, "the client's request stream failed: \(error)")
                case .deadlineReached(let timeout):
                    status = RPCError(.deadlineExceeded, "deadline exceeded after \(timeout)")
                }
                // Messages the handler wrote before the end are still delivered, then the status.
                responseMetadata.recordTrailing(status?.metadata ?? [:])
                responses.finish(throwing: status)
                group.cancelAll()
                return
            }
        }
    }

    private func serve() async -> Event {
        let writer = ResponseWriter<[UInt8]> { message in
            do {
                try await responses.send(message)
            } catch is MessageChannel<[UInt8]>.ClosedError {
                throw RPCError(.cancelled, "the call has ended")
            }
        }
        do {
            try await method.handle(RequestStream(receiving: requests), writer, context)
            return .handlerReturned
        } catch {
            return .handlerFailed(error)
        }
    }

    private func pump(_ clientRequests: RequestStream<[UInt8]>) async -> Event {
        do {
            for try await message in clientRequests {
                try await requests.send(message)
            }
            requests.finish()
            return .requestsEnded
        } catch is MessageChannel<[UInt8]>.ClosedError {
            return .stopped  // the handler stopped reading; the rest of the requests are not wanted
        } catch  where Task.isCancelled {
            return .stopped  // the call ended first
        } catch {
            return .requestsFailed(error)
        }
    }
}
