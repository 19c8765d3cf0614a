import RPCCore

/// One open ServerReflectionInfo stream driven a request at a time: `ask` sends one request and waits for
/// its response, so a test reads as a dialogue.
struct ReflectionConversation<Request: Sendable, Response: Sendable> {
    private let requests: AsyncStream<Request>.Continuation
    private var responses: ResponseStream<Response>.AsyncIterator

    /// Opens the stream with `open`, which makes the call with the request sequence it is given.
    init(_ open: (AsyncStream<Request>) async throws -> ResponseStream<Response>) async throws {
        let (stream, continuation) = AsyncStream.makeStream(of: Request.self)
        requests = continuation
        responses = try await open(stream).makeAsyncIterator()
    }

    /// Sends `request` and returns the response to it.
    mutating func ask(_ request: Request) async throws -> Response {
        requests.yield(request)
        guard let response = try await responses.next() else {
            throw ConversationEnded()
        }
        return response
    }

    /// Half-closes the stream and returns whatever else the server sends before its status.
    mutating func finish() async throws -> [Response] {
        requests.finish()
        var rest: [Response] = []
        while let response = try await responses.next() { rest.append(response) }
        return rest
    }

    /// The server ended the stream before answering.
    struct ConversationEnded: Error {}
}
