import GRPCProtos
import HTTP2Transport
import RPCCore

/// grpc.testing.TestService as the interop test descriptions ask for it: payloads of the requested sizes,
/// echoed statuses, the echo metadata of custom_metadata, intervals between streamed responses, and
/// compressed responses on request.
struct InteropTestService: Grpc_Testing_TestServiceService {
    /// Every handler run ends by recording how it ended, so tests can see cancellations server-side.
    let events: CallEvents

    init(events: CallEvents = CallEvents()) {
        self.events = events
    }

    func emptyCall(request: Grpc_Testing_Empty, context: ServerContext) async throws -> Grpc_Testing_Empty {
        echoMetadata(context)
        return Grpc_Testing_Empty()
    }

    func unaryCall(
        request: Grpc_Testing_SimpleRequest, context: ServerContext
    ) async throws -> Grpc_Testing_SimpleResponse {
        echoMetadata(context)
        if let compressed = request.responseCompressed {
            ServerCallResponse.current?.setCompression(compressed.value)
        }
        if let status = request.responseStatus, status.code != 0 {
            throw RPCError(code: RPCError.Code(rawValue: Int(status.code)) ?? .unknown, message: status.message)
        }
        var response = Grpc_Testing_SimpleResponse()
        response.payload = Self.payload(size: request.responseSize)
        return response
    }

    func cacheableUnaryCall(
        request: Grpc_Testing_SimpleRequest, context: ServerContext
    ) async throws -> Grpc_Testing_SimpleResponse {
        try await unaryCall(request: request, context: context)
    }

    func streamingOutputCall(
        request: Grpc_Testing_StreamingOutputCallRequest,
        responses: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        echoMetadata(context)
        events.record("streamingOutputCall: started")
        do {
            try await stream(request, to: responses)
            events.record("streamingOutputCall: returned")
        } catch {
            events.record("streamingOutputCall: \(error is CancellationError ? "cancelled" : "\(error)")")
            throw error
        }
    }

    private func stream(
        _ request: Grpc_Testing_StreamingOutputCallRequest,
        to responses: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>
    ) async throws {
        if let status = request.responseStatus, status.code != 0 {
            throw RPCError(code: RPCError.Code(rawValue: Int(status.code)) ?? .unknown, message: status.message)
        }
        for parameters in request.responseParameters {
            if parameters.intervalUs > 0 { try await Task.sleep(for: .microseconds(Int(parameters.intervalUs))) }
            var response = Grpc_Testing_StreamingOutputCallResponse()
            response.payload = Self.payload(size: parameters.size)
            try await responses.write(response)
        }
    }

    func streamingInputCall(
        requests: RequestStream<Grpc_Testing_StreamingInputCallRequest>, context: ServerContext
    ) async throws -> Grpc_Testing_StreamingInputCallResponse {
        echoMetadata(context)
        var total: Int32 = 0
        for try await request in requests { total += Int32(request.payload?.body.count ?? 0) }
        var response = Grpc_Testing_StreamingInputCallResponse()
        response.aggregatedPayloadSize = total
        return response
    }

    func fullDuplexCall(
        requests: RequestStream<Grpc_Testing_StreamingOutputCallRequest>,
        responses: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        echoMetadata(context)
        do {
            for try await request in requests { try await stream(request, to: responses) }
            events.record("fullDuplexCall: returned")
        } catch {
            let cancelled = error is CancellationError || (error as? RPCError)?.code == .cancelled
            events.record("fullDuplexCall: \(cancelled ? "cancelled" : "\(error)")")
            throw error
        }
    }

    func halfDuplexCall(
        requests: RequestStream<Grpc_Testing_StreamingOutputCallRequest>,
        responses: ResponseWriter<Grpc_Testing_StreamingOutputCallResponse>,
        context: ServerContext
    ) async throws {
        var buffered: [Grpc_Testing_StreamingOutputCallRequest] = []
        for try await request in requests { buffered.append(request) }
        for request in buffered { try await stream(request, to: responses) }
    }

    func unimplementedCall(request: Grpc_Testing_Empty, context: ServerContext) async throws -> Grpc_Testing_Empty {
        throw RPCError(code: .unimplemented, message: "UnimplementedCall is not implemented")
    }

    /// custom_metadata: echo "x-grpc-test-echo-initial" in the headers and "x-grpc-test-echo-trailing-bin"
    /// in the trailers.
    private func echoMetadata(_ context: ServerContext) {
        guard let call = ServerCallResponse.current else { return }
        for value in context.metadata.values(forKey: "x-grpc-test-echo-initial") {
            call.addInitialMetadata(["x-grpc-test-echo-initial": value])
        }
        for value in context.metadata.values(forKey: "x-grpc-test-echo-trailing-bin") {
            call.addTrailingMetadata(["x-grpc-test-echo-trailing-bin": value])
        }
    }

    /// A compressable payload of `size` zero bytes.
    static func payload(size: Int32) -> Grpc_Testing_Payload {
        var payload = Grpc_Testing_Payload()
        payload.type = .compressable
        payload.body = [UInt8](repeating: 0, count: Int(size))
        return payload
    }
}

import Synchronization

/// A log of how server handlers ended, shared between a test and the service it runs.
final class CallEvents: Sendable {
    private let entries = Mutex<[String]>([])

    /// Appends one entry.
    func record(_ entry: String) { entries.withLock { $0.append(entry) } }

    /// Everything recorded so far.
    var all: [String] { entries.withLock { $0 } }

    /// Waits up to `timeout` for an entry satisfying `predicate`.
    func waitFor(timeout: Duration = .seconds(5), _ predicate: (String) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if all.contains(where: predicate) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}
