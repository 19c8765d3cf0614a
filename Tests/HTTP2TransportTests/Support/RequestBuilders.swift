import GRPCProtos

/// A streaming request asking for responses of `sizes`, `intervalUs` apart.
func streamingRequest(sizes: [Int32], intervalUs: Int32 = 0) -> Grpc_Testing_StreamingOutputCallRequest {
    var request = Grpc_Testing_StreamingOutputCallRequest()
    request.responseParameters = sizes.map { size in
        var parameters = Grpc_Testing_ResponseParameters()
        parameters.size = size
        parameters.intervalUs = intervalUs
        return parameters
    }
    return request
}

/// An async sequence of `elements` that waits `gap` before each one after the first.
struct PacedSequence<Element: Sendable>: AsyncSequence, Sendable {
    let elements: [Element]
    let gap: Duration

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: ArraySlice<Element>
        let gap: Duration
        var first = true
        mutating func next() async throws -> Element? {
            guard let element = remaining.popFirst() else { return nil }
            if !first { try await Task.sleep(for: gap) }
            first = false
            return element
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: elements[...], gap: gap) }
}

/// An async sequence that yields `elements` and then never ends (until cancelled).
struct EndlessSequence<Element: Sendable>: AsyncSequence, Sendable {
    let elements: [Element]

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: ArraySlice<Element>
        mutating func next() async throws -> Element? {
            if let element = remaining.popFirst() { return element }
            try await Task.sleep(for: .seconds(3600))
            return nil
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: elements[...]) }
}
