import GRPCProtocol
@testable import HTTP2Transport
import RPCCore
import Testing

/// A client call's lifecycle decisions alone: every event in every state, the statuses each ending gives the
/// caller, and the orders that matter, without sockets or tasks.
@Suite("Client stream state machine")
struct ClientStreamStateMachineTests {
    typealias Machine = ClientStreamStateMachine
    typealias Action = ClientStreamStateMachine.Action
    typealias Ending = ClientStreamStateMachine.Ending
    typealias Phase = ClientStreamStateMachine.Phase

    // MARK: What the server sends

    static let okHead = [
        HeaderField(":status", "200"), HeaderField("content-type", "application/grpc"),
        HeaderField("x-initial", "1"),
    ]
    static let notFoundTrailersOnly = [
        HeaderField(":status", "200"), HeaderField("content-type", "application/grpc"),
        HeaderField("grpc-status", "5"), HeaderField("grpc-message", "no%20such%20patient"),
        HeaderField("x-detail", "a"),
    ]
    static let unavailableHead = [HeaderField(":status", "503")]
    static let okTrailers = [HeaderField("grpc-status", "0"), HeaderField("x-trailer", "t")]

    static let cancelStatus = RPCError(.cancelled, "the call was cancelled")
    static let connectionError = RPCError(.unavailable, "connection to node:1 closed: reset by peer")
    static let deframingError = RPCError(.resourceExhausted, "message of 5000000 bytes is over the limit")
    static let timeout = Duration.seconds(2)

    // MARK: The statuses the caller sees

    static let submissionFailed = RPCError(.unavailable, "could not start the call: nghttp2 error -1")
    static let headersTooLarge = RPCError(.resourceExhausted, "response header list too large")
    static let noGRPCStatus = RPCError(.unknown, "server closed the stream without grpc-status")
    static let noGRPCStatusAfterHead = RPCError(
        .unknown, "server closed the stream without grpc-status", metadata: ["x-initial": "1"])
    static let notFound = RPCError(.notFound, "no such patient", metadata: ["x-detail": "a"])
    static let unexpected503 = RPCError(.unavailable, "unexpected HTTP status 503 from server")
    static let trailers503 = RPCError(.unavailable, "server sent HTTP status 503 without grpc-status")
    static let insideMessage = RPCError(.internalError, "the response ended inside a message")
    static let deadlineExceeded = RPCError(.deadlineExceeded, "deadline exceeded after 2.0 seconds")
    /// RFC 9113 §8.7: a refused stream was not processed, so the call may be sent again.
    static let refused = RPCError(.unavailable, "the server refused the stream (REFUSED_STREAM)").markedUnprocessed()
    static let serverCancelled = RPCError(.cancelled, "the server cancelled the stream")
    static let protocolError = RPCError(.internalError, "the stream was reset with HTTP/2 error code 1")

    /// Every report the connection makes, with the arguments the tables use.
    enum Event: CaseIterable, Hashable, CustomTestStringConvertible {
        case deadlineTimerArmed, connectionReady, requestSubmitted, requestSubmissionFailed, requestBodyReadable
        case requestProviderParked, requestOutputNothing, requestOutputPending, headersBegan, headerField
        case headerFieldOverLimit, okHead, okHeadEndingStream, trailersOnly, trailersOnlyEndingStream
        case unavailableHead, trailers, trailersInsideMessage, responseDataReadable, responseDeframingFailed
        case dataEndedStream, dataEndedStreamInsideMessage, cancelled, deadlineFired, connectionFailed
        case closedNoError, closedRefused, closedCancel, closedProtocolError

        var testDescription: String { "\(self)" }

        /// Whether the event reports nghttp2 closing the stream.
        var closesStream: Bool { [.closedNoError, .closedRefused, .closedCancel, .closedProtocolError].contains(self) }
    }

    /// What an event answered: an action, a header field verdict, a yes/no, or nothing (events that only record).
    enum Outcome: Equatable {
        case action(Action)
        case verdict(Machine.HeaderFieldVerdict)
        case accepted(Bool)
        case done
    }

    static func apply(_ event: Event, to machine: inout Machine) -> Outcome {
        switch event {
        case .deadlineTimerArmed: machine.deadlineTimerArmed()
        case .connectionReady: return .action(machine.connectionReady())
        case .requestSubmitted: machine.requestSubmitted()
        case .requestSubmissionFailed: return .action(machine.requestSubmissionFailed(code: -1))
        case .requestBodyReadable: return .accepted(machine.requestBodyReadable)
        case .requestProviderParked: machine.requestProviderParked()
        case .requestOutputNothing: return .action(machine.requestOutputReady { false })
        case .requestOutputPending: return .action(machine.requestOutputReady { true })
        case .headersBegan: machine.responseHeadersBegan()
        case .headerField: return .verdict(machine.responseHeaderFieldReceived(size: 100))
        case .headerFieldOverLimit:
            return .verdict(machine.responseHeaderFieldReceived(size: Machine.maxResponseHeaderListSize + 1))
        case .okHead: return .action(machine.responseHeadersEnded(okHead, endStream: false, partialMessage: false))
        case .okHeadEndingStream:
            return .action(machine.responseHeadersEnded(okHead, endStream: true, partialMessage: false))
        case .trailersOnly:
            return .action(machine.responseHeadersEnded(notFoundTrailersOnly, endStream: false, partialMessage: false))
        case .trailersOnlyEndingStream:
            return .action(machine.responseHeadersEnded(notFoundTrailersOnly, endStream: true, partialMessage: false))
        case .unavailableHead:
            return .action(machine.responseHeadersEnded(unavailableHead, endStream: false, partialMessage: false))
        case .trailers: return .action(machine.responseHeadersEnded(okTrailers, endStream: true, partialMessage: false))
        case .trailersInsideMessage:
            return .action(machine.responseHeadersEnded(okTrailers, endStream: true, partialMessage: true))
        case .responseDataReadable: return .accepted(machine.responseDataReadable)
        case .responseDeframingFailed: return .action(machine.responseDeframingFailed(deframingError))
        case .dataEndedStream: return .action(machine.responseEnded(trailers: [], partialMessage: false))
        case .dataEndedStreamInsideMessage: return .action(machine.responseEnded(trailers: [], partialMessage: true))
        case .cancelled: return .action(machine.cancelled(cancelStatus))
        case .deadlineFired: return .action(machine.deadlineFired(after: timeout))
        case .connectionFailed: return .action(machine.connectionFailed(connectionError))
        case .closedNoError: return .action(machine.streamClosed(errorCode: 0))
        case .closedRefused: return .action(machine.streamClosed(errorCode: 7))
        case .closedCancel: return .action(machine.streamClosed(errorCode: 8))
        case .closedProtocolError: return .action(machine.streamClosed(errorCode: 1))
        }
        return .done
    }

    /// The answer that means "nothing to do" for each event.
    static func trivialOutcome(of event: Event) -> Outcome {
        switch event {
        case .deadlineTimerArmed, .requestSubmitted, .requestProviderParked, .headersBegan: .done
        case .requestBodyReadable, .responseDataReadable: .accepted(false)
        case .headerField, .headerFieldOverLimit: .verdict(.discard)
        default: .action(.none)
        }
    }

    static func machine(after events: [Event]) -> Machine {
        var machine = Machine()
        for event in events { _ = apply(event, to: &machine) }
        return machine
    }

    /// The states a call can be in, each reached by the events that lead there.
    enum State: CaseIterable, CustomTestStringConvertible {
        case queued, queuedWithDeadline, open, openParked, receivingMessages, receivingMessagesParked
        case finished, finishedWhileQueued, closed

        var path: [Event] {
            let open: [Event] = [.deadlineTimerArmed, .requestSubmitted]
            switch self {
            case .queued: return []
            case .queuedWithDeadline: return [.deadlineTimerArmed]
            case .open: return open
            case .openParked: return open + [.requestProviderParked]
            case .receivingMessages: return open + [.okHead]
            case .receivingMessagesParked: return open + [.okHead, .requestProviderParked]
            case .finished: return open + [.cancelled]
            case .finishedWhileQueued: return [.deadlineTimerArmed, .cancelled]
            case .closed: return open + [.closedCancel]
            }
        }

        var testDescription: String { "\(self)" }
    }

    /// An answer and the state it leaves.
    struct Expectation {
        var outcome: Outcome
        var phase: Phase
        var deadlineArmed = false
        var requestParked = false
        var hasResponseHead = false
    }

    /// The ending that tells the caller `status`, with the trailing metadata of `trailers` (else the status's).
    static func ending(
        _ status: RPCError?, trailers: Metadata? = nil, reset: Bool = false, cancelTimer: Bool = false
    ) -> Action {
        .finish(
            Ending(
                status: status, trailingMetadata: trailers ?? status?.metadata ?? [:], resetStream: reset,
                cancelDeadlineTimer: cancelTimer))
    }

    /// The events of each state that answer something or change the machine; every other event must answer
    /// `trivialOutcome` and leave the machine exactly as it was.
    static func table(_ state: State) -> [Event: Expectation] {
        func x(
            _ outcome: Outcome, _ phase: Phase, deadline: Bool = false, parked: Bool = false, head: Bool = false
        ) -> Expectation {
            Expectation(
                outcome: outcome, phase: phase, deadlineArmed: deadline, requestParked: parked, hasResponseHead: head)
        }
        switch state {
        case .queued, .queuedWithDeadline:
            let armed = state == .queuedWithDeadline
            var table: [Event: Expectation] = [
                .connectionReady: x(.action(.submitRequest), .queued, deadline: armed),
                .requestSubmitted: x(.done, .open, deadline: armed),
                // A queued call's request never left the client: every ending says it was not processed.
                .requestSubmissionFailed: x(
                    .action(ending(submissionFailed.markedUnprocessed(), cancelTimer: armed)), .finished),
                .cancelled: x(.action(ending(cancelStatus.markedUnprocessed(), cancelTimer: armed)), .finished),
                .connectionFailed: x(
                    .action(ending(connectionError.markedUnprocessed(), cancelTimer: armed)), .finished),
            ]
            if armed {
                table[.deadlineFired] = x(.action(ending(deadlineExceeded.markedUnprocessed())), .finished)
            } else {
                table[.deadlineTimerArmed] = x(.done, .queued, deadline: true)
            }
            return table
        case .open, .openParked, .receivingMessages, .receivingMessagesParked:
            let parked = state == .openParked || state == .receivingMessagesParked
            let head = state == .receivingMessages || state == .receivingMessagesParked
            /// The call runs on: same deadline, head and provider as before.
            func running(_ outcome: Outcome, parked stillParked: Bool = parked, head hasHead: Bool = head)
                -> Expectation
            {
                x(outcome, .open, deadline: true, parked: stillParked, head: hasHead)
            }
            func ends(_ action: Action, _ phase: Phase = .finished, head hasHead: Bool = head) -> Expectation {
                x(.action(action), phase, head: hasHead)
            }
            var table: [Event: Expectation] = [
                .requestBodyReadable: running(.accepted(true)),
                .requestProviderParked: running(.done, parked: true),
                .headerField: running(.verdict(.keep)),
                .headerFieldOverLimit: x(
                    .verdict(.refuse(ending(headersTooLarge, reset: true, cancelTimer: true))), .finished, head: head),
                .responseDeframingFailed: ends(ending(deframingError, reset: true, cancelTimer: true)),
                .dataEndedStream: ends(ending(noGRPCStatus, cancelTimer: true)),
                .dataEndedStreamInsideMessage: ends(ending(insideMessage, cancelTimer: true)),
                .cancelled: ends(ending(cancelStatus, reset: true, cancelTimer: true)),
                .deadlineFired: ends(ending(deadlineExceeded, reset: true)),
                .connectionFailed: ends(ending(connectionError, cancelTimer: true)),
                .closedNoError: ends(ending(noGRPCStatus, cancelTimer: true), .closed),
                .closedRefused: ends(ending(refused, cancelTimer: true), .closed),
                .closedCancel: ends(ending(serverCancelled, cancelTimer: true), .closed),
                .closedProtocolError: ends(ending(protocolError, cancelTimer: true), .closed),
            ]
            if parked { table[.requestOutputPending] = running(.action(.resumeRequestData), parked: false) }
            let trailing: Metadata = ["x-detail": "a"]
            if head {
                // Every later header block is the trailers.
                table[.responseDataReadable] = running(.accepted(true))
                table[.okHead] = ends(ending(noGRPCStatusAfterHead, cancelTimer: true))
                table[.okHeadEndingStream] = ends(ending(noGRPCStatusAfterHead, cancelTimer: true))
                table[.trailersOnly] = ends(ending(notFound, trailers: trailing, cancelTimer: true))
                table[.trailersOnlyEndingStream] = ends(ending(notFound, trailers: trailing, cancelTimer: true))
                table[.unavailableHead] = ends(ending(trailers503, cancelTimer: true))
                table[.trailers] = ends(ending(nil, trailers: ["x-trailer": "t"], cancelTimer: true))
                table[.trailersInsideMessage] = ends(ending(insideMessage, cancelTimer: true))
            } else {
                table[.okHead] = running(
                    .action(.acceptResponseHead(ClientResponseHead(encoding: .identity, metadata: ["x-initial": "1"]))),
                    head: true)
                table[.okHeadEndingStream] = ends(
                    ending(noGRPCStatusAfterHead, trailers: ["x-initial": "1"], cancelTimer: true), head: true)
                table[.trailersOnly] = ends(
                    ending(notFound, trailers: trailing, reset: true, cancelTimer: true), head: true)
                table[.trailersOnlyEndingStream] = ends(
                    ending(notFound, trailers: trailing, cancelTimer: true), head: true)
                table[.unavailableHead] = ends(ending(unexpected503, reset: true, cancelTimer: true))
                // grpc-status in the first block makes it Trailers-Only: a message cut short cannot exist yet.
                table[.trailers] = ends(ending(nil, trailers: ["x-trailer": "t"], cancelTimer: true), head: true)
                table[.trailersInsideMessage] = ends(
                    ending(nil, trailers: ["x-trailer": "t"], cancelTimer: true), head: true)
            }
            return table
        case .finished, .finishedWhileQueued:
            let head = false
            return [
                .headerField: x(.verdict(.keep), .finished, head: head),
                .headerFieldOverLimit: x(.verdict(.refuse(.none)), .finished, head: head),
                .closedNoError: x(.action(.none), .closed, head: head),
                .closedRefused: x(.action(.none), .closed, head: head),
                .closedCancel: x(.action(.none), .closed, head: head),
                .closedProtocolError: x(.action(.none), .closed, head: head),
            ]
        case .closed:
            return [:]
        }
    }

    @Test("every event in every state answers as the table says", arguments: State.allCases, Event.allCases)
    func everyEventInEveryState(state: State, event: Event) {
        let before = Self.machine(after: state.path)
        var machine = before
        let outcome = Self.apply(event, to: &machine)
        if let expected = Self.table(state)[event] {
            #expect(outcome == expected.outcome)
            #expect(machine.phase == expected.phase)
            #expect(machine.deadlineArmed == expected.deadlineArmed)
            #expect(machine.requestParked == expected.requestParked)
            #expect((machine.responseHead != nil) == expected.hasResponseHead)
        } else {
            #expect(outcome == Self.trivialOutcome(of: event))
            #expect(machine == before, "an event with nothing to do changed the machine")
        }
    }

    @Test("each state's path leads where its name says")
    func pathsReachTheirStates() {
        let expected: [(State, Phase, deadline: Bool, parked: Bool, head: Bool)] = [
            (.queued, .queued, false, false, false), (.queuedWithDeadline, .queued, true, false, false),
            (.open, .open, true, false, false), (.openParked, .open, true, true, false),
            (.receivingMessages, .open, true, false, true), (.receivingMessagesParked, .open, true, true, true),
            (.finished, .finished, false, false, false), (.finishedWhileQueued, .finished, false, false, false),
            (.closed, .closed, false, false, false),
        ]
        #expect(expected.count == State.allCases.count)
        for (state, phase, deadline, parked, head) in expected {
            let machine = Self.machine(after: state.path)
            #expect(machine.phase == phase, "\(state)")
            #expect(machine.deadlineArmed == deadline, "\(state)")
            #expect(machine.requestParked == parked, "\(state)")
            #expect((machine.responseHead != nil) == head, "\(state)")
            #expect(machine.isFinished == (phase == .finished || phase == .closed), "\(state)")
        }
    }

    // MARK: Stories

    @Test("a call waiting for its connection submits when it is made, and a failed attempt fails it unreset")
    func queuedCallFollowsItsConnection() {
        var waiting = Machine()
        waiting.deadlineTimerArmed()
        let ready = waiting.connectionReady()
        #expect(ready == .submitRequest)
        #expect(waiting.phase == .queued, "queued until nghttp2 takes the HEADERS")
        waiting.requestSubmitted()
        #expect(waiting.phase == .open)

        var failing = Machine()
        failing.deadlineTimerArmed()
        let failed = failing.connectionFailed(Self.connectionError)
        #expect(failed == Self.ending(Self.connectionError.markedUnprocessed(), cancelTimer: true))
        let lateReady = failing.connectionReady()
        #expect(lateReady == .none, "a failed call never reaches the wire")
    }

    @Test("a cancelled call resets its stream once; its late response and the stream's close tell nobody")
    func cancelledCallIgnoresTheRest() {
        var machine = Self.machine(after: [.requestSubmitted, .okHead])
        let cancel = machine.cancelled(Self.cancelStatus)
        #expect(cancel == Self.ending(Self.cancelStatus, reset: true))
        let again = machine.cancelled(Self.cancelStatus)
        #expect(again == .none)
        #expect(!machine.responseDataReadable, "late DATA goes back to flow control, not to the caller")
        let lateTrailers = machine.responseHeadersEnded(Self.okTrailers, endStream: true, partialMessage: false)
        #expect(lateTrailers == .none)
        let closed = machine.streamClosed(errorCode: 8)
        #expect(closed == .none)
        #expect(machine.phase == .closed)
    }

    @Test("a deadline after the trailers does nothing: the ending cancelled its timer")
    func deadlineAfterTrailers() {
        var machine = Self.machine(after: [.deadlineTimerArmed, .requestSubmitted, .okHead])
        let end = machine.responseHeadersEnded(Self.okTrailers, endStream: true, partialMessage: false)
        #expect(end == Self.ending(nil, trailers: ["x-trailer": "t"], cancelTimer: true))
        let lateDeadline = machine.deadlineFired(after: Self.timeout)
        #expect(lateDeadline == .none)
    }

    @Test("a deadline that fires ends the call DEADLINE_EXCEEDED and cancels the stream, not its spent timer")
    func deadlineFires() {
        var machine = Self.machine(after: [.deadlineTimerArmed, .requestSubmitted])
        let fired = machine.deadlineFired(after: .milliseconds(250))
        #expect(
            fired
                == Self.ending(RPCError(.deadlineExceeded, "deadline exceeded after 0.25 seconds"), reset: true))
        let closed = machine.streamClosed(errorCode: 8)
        #expect(closed == .none, "the server's answer to our RST_STREAM is not the call's status")
    }

    @Test("RST_STREAM codes from the server become the gRPC statuses of PROTOCOL-HTTP2.md")
    func resetCodesMapToStatuses() {
        let expected: [(UInt32, RPCError)] = [
            (0, Self.noGRPCStatus), (1, Self.protocolError), (7, Self.refused), (8, Self.serverCancelled),
            (2, RPCError(.internalError, "the stream was reset with HTTP/2 error code 2")),
            (11, RPCError(.resourceExhausted, "the server reset the stream (ENHANCE_YOUR_CALM)")),
            (12, RPCError(.permissionDenied, "the server reset the stream (INADEQUATE_SECURITY)")),
        ]
        for (code, status) in expected {
            var machine = Self.machine(after: [.requestSubmitted])
            let closed = machine.streamClosed(errorCode: code)
            #expect(closed == Self.ending(status), "error code \(code)")
            #expect(machine.phase == .closed)
        }
    }

    @Test("GOAWAY: a stream above the last-stream-id is closed REFUSED_STREAM and the call fails UNAVAILABLE")
    func goAwayRefusesStreamsAboveLastStreamID() {
        var machine = Self.machine(after: [.deadlineTimerArmed, .requestSubmitted, .requestProviderParked])
        let closed = machine.streamClosed(errorCode: 7)
        #expect(closed == Self.ending(Self.refused, cancelTimer: true))
        #expect(Self.refused.code == .unavailable && Self.refused.isUnprocessed)
        #expect(!machine.requestParked)
        let wake = machine.requestOutputReady { true }
        #expect(wake == .none, "a gone stream's provider is never resumed")
    }

    @Test("Trailers-Only ends the call with its status and metadata; left open by the server it is cancelled")
    func trailersOnly() {
        var open = Self.machine(after: [.requestSubmitted])
        let leftOpen = open.responseHeadersEnded(Self.notFoundTrailersOnly, endStream: false, partialMessage: false)
        #expect(leftOpen == Self.ending(Self.notFound, trailers: ["x-detail": "a"], reset: true))

        var ended = Self.machine(after: [.requestSubmitted])
        let okOnly = ended.responseHeadersEnded(
            [HeaderField(":status", "200"), HeaderField("grpc-status", "0"), HeaderField("x-only", "y")],
            endStream: true, partialMessage: false)
        #expect(okOnly == Self.ending(nil, trailers: ["x-only": "y"]))
    }

    @Test("a response head that is not a gRPC 200 fails the call with the mapped status and cancels the stream")
    func badResponseHeads() {
        let cases: [([HeaderField], RPCError)] = [
            ([HeaderField(":status", "404")], RPCError(.unimplemented, "unexpected HTTP status 404 from server")),
            (
                [HeaderField(":status", "200"), HeaderField("content-type", "text/html")],
                RPCError(.unknown, "unexpected content-type 'text/html' from server")
            ),
            (
                [
                    HeaderField(":status", "200"), HeaderField("content-type", "application/grpc"),
                    HeaderField("grpc-encoding", "br"),
                ],
                RPCError(
                    .internalError,
                    "grpc-encoding 'br' from server is not supported (supported: \(MessageEncoding.acceptEncodingHeaderValue))"
                )
            ),
        ]
        for (head, status) in cases {
            var machine = Self.machine(after: [.requestSubmitted])
            let action = machine.responseHeadersEnded(head, endStream: false, partialMessage: false)
            #expect(action == Self.ending(status, reset: true), "\(head)")
            #expect(!machine.responseDataReadable)
        }
    }

    @Test("a gzip response head is accepted with its encoding; the trailers after a message cut short fail INTERNAL")
    func responseCutShort() {
        var machine = Self.machine(after: [.requestSubmitted])
        let head = machine.responseHeadersEnded(
            [
                HeaderField(":status", "200"), HeaderField("content-type", "application/grpc+proto"),
                HeaderField("grpc-encoding", "gzip"),
            ], endStream: false, partialMessage: false)
        #expect(head == .acceptResponseHead(ClientResponseHead(encoding: .gzip, metadata: [:])))
        #expect(machine.responseDataReadable)
        let end = machine.responseHeadersEnded(Self.okTrailers, endStream: true, partialMessage: true)
        #expect(end == Self.ending(Self.insideMessage), "the trailers' metadata is not reported for a broken response")
    }

    @Test("the parked request provider is resumed only when the writer has something, and only once")
    func requestProviderResumes() {
        var machine = Self.machine(after: [.requestSubmitted])
        var asked = false
        let unparked = machine.requestOutputReady {
            asked = true
            return true
        }
        #expect(unparked == .none)
        #expect(!asked, "a provider that is not parked needs no resuming")
        machine.requestProviderParked()
        let nothing = machine.requestOutputReady { false }
        #expect(nothing == .none)
        #expect(machine.requestParked)
        let resume = machine.requestOutputReady { true }
        #expect(resume == .resumeRequestData)
        let second = machine.requestOutputReady { true }
        #expect(second == .none)
    }

    @Test("header fields count per block up to the limit; past it the call fails RESOURCE_EXHAUSTED once")
    func headerListLimit() {
        let limit = Machine.maxResponseHeaderListSize
        var machine = Self.machine(after: [.requestSubmitted])
        let first = machine.responseHeaderFieldReceived(size: limit - 100)
        #expect(first == .keep)
        machine.responseHeadersBegan()
        #expect(machine.headerListSize == 0, "each block counts from zero")
        let atLimit = machine.responseHeaderFieldReceived(size: limit)
        #expect(atLimit == .keep, "exactly the limit is allowed")
        let over = machine.responseHeaderFieldReceived(size: 1)
        #expect(over == .refuse(Self.ending(Self.headersTooLarge, reset: true)))
        let stillOver = machine.responseHeaderFieldReceived(size: 1)
        #expect(stillOver == .refuse(.none), "refused again, but the call ended already")
    }

    @Test("a stream nghttp2 would not open fails the call UNAVAILABLE with nghttp2's error")
    func submissionFails() {
        var machine = Machine()
        machine.deadlineTimerArmed()
        let failed = machine.requestSubmissionFailed(code: -509)
        #expect(
            failed
                == Self.ending(
                    RPCError(.unavailable, "could not start the call: nghttp2 error -509").markedUnprocessed(),
                    cancelTimer: true))
        #expect(!machine.requestBodyReadable)
    }

    // MARK: Every reachable state

    @Test("from every state reachable in seven events, every event keeps the lifecycle's promises")
    func reachableStatesKeepInvariants() {
        let seen = exploreReachableStates(from: Machine(), events: Array(Event.allCases), depth: 7) {
            before, event, machine in
            let outcome = Self.apply(event, to: &machine)
            Self.checkInvariants(before: before, event: event, outcome: outcome, after: machine)
        }
        #expect(seen.count > 50)
    }

    static func checkInvariants(before: Machine, event: Event, outcome: Outcome, after: Machine) {
        let context: Comment = "\(event) in \(before)"
        if before.phase == .closed {
            #expect(outcome == trivialOutcome(of: event), context)
            #expect(after == before, context)
            return
        }
        if after.isFinished {
            #expect(!after.deadlineArmed && !after.requestParked, context)
        }
        if before.isFinished { #expect(after.isFinished, context) }
        if after.phase == .closed { #expect(event.closesStream, context) }
        if after.requestParked { #expect(after.phase == .open, context) }
        if before.responseHead != nil { #expect(after.responseHead == before.responseHead, context) }
        let action: Action
        switch outcome {
        case .action(let answered):
            action = answered
        case .verdict(.refuse(let answered)):
            #expect(after.headerListSize > Machine.maxResponseHeaderListSize, context)
            action = answered
        case .verdict(.keep):
            #expect(before.phase == .open || before.phase == .finished, context)
            return
        case .accepted(true):
            #expect(before.phase == .open, context)
            return
        case .verdict(.discard), .accepted(false), .done:
            return
        }
        switch action {
        case .none:
            break
        case .submitRequest:
            #expect(before.phase == .queued && after.phase == .queued, context)
        case .resumeRequestData:
            #expect(before.requestParked && !after.requestParked && after.phase == .open, context)
        case .acceptResponseHead:
            #expect(before.phase == .open && before.responseHead == nil && after.responseHead != nil, context)
        case .finish(let ending):
            // The caller hears exactly one ending.
            #expect(!before.isFinished && after.isFinished, context)
            #expect(ending.cancelDeadlineTimer == (before.deadlineArmed && event != .deadlineFired), context)
            if ending.resetStream { #expect(before.phase == .open && !event.closesStream, context) }
            if event == .connectionFailed { #expect(!ending.resetStream, context) }
            // Unprocessed exactly when the request never left (still queued) or the server refused the stream.
            let unprocessed = before.phase == .queued || (before.phase == .open && event == .closedRefused)
            #expect(ending.status?.isUnprocessed ?? false == unprocessed, context)
            if ending.status == nil { #expect(ending.trailingMetadata == ["x-trailer": "t"], context) }
        }
    }
}
