@testable import HTTP2Transport
import Testing

/// A server call's lifecycle decisions alone: every event in every state, and the orders that went wrong
/// before, without sockets or tasks.
@Suite("Server stream state machine")
struct ServerStreamStateMachineTests {
    typealias Machine = ServerStreamStateMachine
    typealias Action = ServerStreamStateMachine.Action
    typealias Phase = ServerStreamStateMachine.Phase
    typealias Response = ServerStreamStateMachine.Response

    static let headerLimit = 100

    /// Every report the connection makes, with the arguments the tables use.
    enum Event: CaseIterable, Hashable, CustomTestStringConvertible {
        case headerField, headerFieldOverLimit, requestHeadersEnded, trailersEnded, callRejected, callStarted
        case callStartedWithDeadline, requestData, requestDeframingFailed, requestEnded, requestEndedInsideMessage
        case outputNothing, outputMessages, outputEndedWithoutMessages, providerParked, responseBodyEnded
        case deadlineFired, streamClosed, connectionCalmedDown

        var testDescription: String { "\(self)" }
    }

    /// What an event answered: an action, a yes/no, or nothing (events that only record).
    enum Outcome: Equatable {
        case action(Action)
        case accepted(Bool)
        case done
    }

    static func apply(_ event: Event, to machine: inout Machine) -> Outcome {
        switch event {
        case .headerField: return .accepted(machine.headerFieldReceived(size: 10, limit: headerLimit))
        case .headerFieldOverLimit: return .accepted(machine.headerFieldReceived(size: 200, limit: headerLimit))
        case .requestHeadersEnded: return .action(machine.headersEnded(isRequest: true))
        case .trailersEnded: return .action(machine.headersEnded(isRequest: false))
        case .callRejected: return .accepted(machine.callRejected())
        case .callStarted: machine.callStarted(deadlineArmed: false)
        case .callStartedWithDeadline: machine.callStarted(deadlineArmed: true)
        case .requestData: return .accepted(machine.requestDataReceived())
        case .requestDeframingFailed: return .action(machine.requestDeframingFailed())
        case .requestEnded: return .action(machine.requestEnded(partialMessage: false))
        case .requestEndedInsideMessage: return .action(machine.requestEnded(partialMessage: true))
        case .outputNothing: return .action(machine.outputReady { .nothing })
        case .outputMessages: return .action(machine.outputReady { .messages })
        case .outputEndedWithoutMessages: return .action(machine.outputReady { .endedWithoutMessages })
        case .providerParked: machine.providerParked()
        case .responseBodyEnded: return .action(machine.responseBodyEnded())
        case .deadlineFired: return .action(machine.deadlineFired())
        case .streamClosed: return .action(machine.streamClosed())
        case .connectionCalmedDown: return .action(machine.connectionCalmedDown())
        }
        return .done
    }

    /// The answer that means "nothing to do" for each event.
    static func trivialOutcome(of event: Event) -> Outcome {
        switch event {
        case .headerField, .headerFieldOverLimit, .callRejected, .requestData: .accepted(false)
        case .callStarted, .callStartedWithDeadline, .providerParked: .done
        default: .action(.none)
        }
    }

    static func machine(after events: [Event]) -> Machine {
        var machine = Machine()
        for event in events { _ = apply(event, to: &machine) }
        return machine
    }

    /// The states a stream can be in, each reached by the events that lead there.
    enum State: CaseIterable, CustomTestStringConvertible {
        case receivingHeaders, oversizedHeaders, refused, rejected, awaitingOutput, requestEndedAwaitingOutput
        case streaming, parked, trailersSent, trailersOnlySent, failedByDeadline, closed

        var path: [Event] {
            let running: [Event] = [.requestHeadersEnded, .callStartedWithDeadline]
            switch self {
            case .receivingHeaders: return []
            case .oversizedHeaders: return [.headerFieldOverLimit]
            case .refused: return [.headerFieldOverLimit, .requestHeadersEnded]
            case .rejected: return [.requestHeadersEnded, .callRejected]
            case .awaitingOutput: return running
            case .requestEndedAwaitingOutput: return running + [.requestEnded]
            case .streaming: return running + [.outputMessages]
            case .parked: return running + [.outputMessages, .providerParked]
            case .trailersSent: return running + [.outputMessages, .responseBodyEnded]
            case .trailersOnlySent: return running + [.outputEndedWithoutMessages]
            case .failedByDeadline: return running + [.deadlineFired]
            case .closed: return running + [.streamClosed]
            }
        }

        var testDescription: String { "\(self)" }
    }

    /// An answer and the phase and response state it leaves.
    struct Expectation {
        var outcome: Outcome
        var phase: Phase
        var response: Response
    }

    /// Everything a running call holds (deadline armed, handler still answering).
    static let all: Machine.Release = [.cancelDeadlineTimer, .cancelHandler, .abortInbound, .closeOutbound]

    /// The events of each state that answer something or change the machine; every other event must answer
    /// `trivialOutcome` and leave the machine exactly as it was.
    static func table(_ state: State) -> [Event: Expectation] {
        func x(_ outcome: Outcome, _ phase: Phase, _ response: Response) -> Expectation {
            Expectation(outcome: outcome, phase: phase, response: response)
        }
        switch state {
        case .receivingHeaders:
            return [
                .headerField: x(.accepted(true), .receivingHeaders, .notStarted),
                .headerFieldOverLimit: x(.accepted(false), .receivingHeaders, .notStarted),
                .requestHeadersEnded: x(.action(.startCall), .receivingHeaders, .notStarted),
                .callRejected: x(.accepted(true), .rejected, .ended),
                .callStarted: x(.done, .running, .notStarted),
                .callStartedWithDeadline: x(.done, .running, .notStarted),
                .requestEnded: x(.action(.none), .receivingHeaders, .notStarted),
                .requestEndedInsideMessage: x(.action(.none), .receivingHeaders, .notStarted),
                .streamClosed: x(.action(.none), .closed, .ended),
                .connectionCalmedDown: x(.action(.resetStream(.cancel, [])), .closed, .ended),
            ]
        case .oversizedHeaders:
            return [
                .headerField: x(.accepted(false), .receivingHeaders, .notStarted),
                .headerFieldOverLimit: x(.accepted(false), .receivingHeaders, .notStarted),
                .requestHeadersEnded: x(.action(.resetStream(.enhanceYourCalm, [])), .rejected, .ended),
                .trailersEnded: x(.action(.resetStream(.enhanceYourCalm, [])), .rejected, .ended),
                .callRejected: x(.accepted(true), .rejected, .ended),
                .callStarted: x(.done, .running, .notStarted),
                .callStartedWithDeadline: x(.done, .running, .notStarted),
                .requestEnded: x(.action(.none), .receivingHeaders, .notStarted),
                .requestEndedInsideMessage: x(.action(.none), .receivingHeaders, .notStarted),
                .streamClosed: x(.action(.none), .closed, .ended),
                .connectionCalmedDown: x(.action(.resetStream(.cancel, [])), .closed, .ended),
            ]
        case .refused, .rejected:
            return [
                .requestEnded: x(.action(.none), .rejected, .ended),
                .requestEndedInsideMessage: x(.action(.none), .rejected, .ended),
                .streamClosed: x(.action(.none), .closed, .ended),
                .connectionCalmedDown: x(.action(.resetStream(.cancel, [])), .closed, .ended),
            ]
        case .awaitingOutput, .requestEndedAwaitingOutput, .failedByDeadline:
            let armed = state != .failedByDeadline
            let timer: Machine.Release = armed ? .cancelDeadlineTimer : []
            let held = all.subtracting(armed ? [] : .cancelDeadlineTimer)
            var table: [Event: Expectation] = [
                .requestDeframingFailed: x(.action(.failCall), .running, .notStarted),
                .outputMessages: x(.action(.submitResponseHeaders), .running, .streaming),
                .outputEndedWithoutMessages: x(
                    .action(.submitTrailersOnly(timer.union(.closeOutbound))), .running, .ended),
                .streamClosed: x(.action(.release(held)), .closed, .ended),
                .connectionCalmedDown: x(.action(.resetStream(.cancel, held)), .closed, .ended),
            ]
            if armed { table[.deadlineFired] = x(.action(.failCall), .running, .notStarted) }
            if state != .requestEndedAwaitingOutput {
                table[.requestData] = x(.accepted(true), .running, .notStarted)
                table[.requestEnded] = x(.action(.finishInbound), .running, .notStarted)
                table[.requestEndedInsideMessage] = x(.action(.failCall), .running, .notStarted)
            }
            return table
        case .streaming, .parked:
            let parked = state == .parked
            return [
                .requestData: x(.accepted(true), .running, parked ? .parked : .streaming),
                .requestDeframingFailed: x(.action(.failCall), .running, parked ? .parked : .streaming),
                .requestEnded: x(.action(.finishInbound), .running, parked ? .parked : .streaming),
                .requestEndedInsideMessage: x(.action(.failCall), .running, parked ? .parked : .streaming),
                .outputNothing: parked
                    ? x(.action(.resumeData), .running, .streaming) : x(.action(.none), .running, .streaming),
                .outputMessages: parked
                    ? x(.action(.resumeData), .running, .streaming) : x(.action(.none), .running, .streaming),
                .outputEndedWithoutMessages: parked
                    ? x(.action(.resumeData), .running, .streaming) : x(.action(.none), .running, .streaming),
                .providerParked: x(.done, .running, .parked),
                .responseBodyEnded: x(
                    .action(.submitTrailers([.cancelDeadlineTimer, .closeOutbound])), .running, .ended),
                .deadlineFired: x(.action(.failCall), .running, parked ? .parked : .streaming),
                .streamClosed: x(.action(.release(all)), .closed, .ended),
                .connectionCalmedDown: x(.action(.resetStream(.cancel, all)), .closed, .ended),
            ]
        case .trailersSent, .trailersOnlySent:
            let queues: Machine.Release = [.abortInbound, .closeOutbound]
            return [
                .requestData: x(.accepted(true), .running, .ended),
                .requestDeframingFailed: x(.action(.none), .running, .ended),
                .requestEnded: x(.action(.finishInbound), .running, .ended),
                .requestEndedInsideMessage: x(.action(.none), .running, .ended),
                .streamClosed: x(.action(.release(queues)), .closed, .ended),
                .connectionCalmedDown: x(.action(.resetStream(.cancel, queues)), .closed, .ended),
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
            #expect(machine.response == expected.response)
        } else {
            #expect(outcome == Self.trivialOutcome(of: event))
            #expect(machine == before, "an event with nothing to do changed the machine")
        }
    }

    @Test("each state's path leads where its name says")
    func pathsReachTheirStates() {
        let expected: [(State, Phase, Response)] = [
            (.receivingHeaders, .receivingHeaders, .notStarted), (.oversizedHeaders, .receivingHeaders, .notStarted),
            (.refused, .rejected, .ended), (.rejected, .rejected, .ended), (.awaitingOutput, .running, .notStarted),
            (.requestEndedAwaitingOutput, .running, .notStarted), (.streaming, .running, .streaming),
            (.parked, .running, .parked), (.trailersSent, .running, .ended), (.trailersOnlySent, .running, .ended),
            (.failedByDeadline, .running, .notStarted), (.closed, .closed, .ended),
        ]
        #expect(expected.count == State.allCases.count)
        for (state, phase, response) in expected {
            let machine = Self.machine(after: state.path)
            #expect(machine.phase == phase, "\(state)")
            #expect(machine.response == response, "\(state)")
        }
        #expect(Self.machine(after: State.awaitingOutput.path).deadlineArmed)
        #expect(!Self.machine(after: State.failedByDeadline.path).deadlineArmed)
        #expect(Self.machine(after: State.requestEndedAwaitingOutput.path).requestEnded)
    }

    // MARK: Orders that went wrong before

    @Test("a deadline firing after the handler finished does nothing: the trailers cancelled its timer")
    func deadlineAfterTheHandlerFinished() {
        var machine = Self.machine(after: [.requestHeadersEnded, .callStartedWithDeadline])
        let headers = machine.outputReady { .messages }
        #expect(headers == .submitResponseHeaders)
        let trailers = machine.responseBodyEnded()
        #expect(trailers == .submitTrailers([.cancelDeadlineTimer, .closeOutbound]))
        let lateDeadline = machine.deadlineFired()
        #expect(lateDeadline == .none)
        let closed = machine.streamClosed()
        #expect(closed == .release([.abortInbound, .closeOutbound]))
    }

    @Test("RST_STREAM after the trailers releases the call but does not cancel the finished handler")
    func resetAfterTrailers() {
        var machine = Self.machine(after: [.requestHeadersEnded, .callStarted, .outputMessages, .responseBodyEnded])
        let action = machine.streamClosed()
        #expect(action == .release([.abortInbound, .closeOutbound]))
        let secondClose = machine.streamClosed()
        #expect(secondClose == .none, "a second close finds nothing left")
        let lateCalmDown = machine.connectionCalmedDown()
        #expect(lateCalmDown == .none)
    }

    @Test("RST_STREAM while the handler runs cancels it, its timer and both message queues")
    func resetWhileRunning() {
        var machine = Self.machine(after: [.requestHeadersEnded, .callStartedWithDeadline, .outputMessages])
        let closed = machine.streamClosed()
        #expect(closed == .release(Self.all))
        let lateOutput = machine.outputReady { .messages }
        #expect(lateOutput == .none)
        let lateBodyEnd = machine.responseBodyEnded()
        #expect(lateBodyEnd == .none)
        let lateDeadline = machine.deadlineFired()
        #expect(lateDeadline == .none)
    }

    @Test("DATA after the request ended is not deframed, and a second END_STREAM is ignored")
    func dataAfterRequestEnd() {
        var machine = Self.machine(after: [.requestHeadersEnded, .callStarted])
        #expect(machine.requestDataReceived())
        let firstEnd = machine.requestEnded(partialMessage: false)
        #expect(firstEnd == .finishInbound)
        #expect(!machine.requestDataReceived())
        let secondEnd = machine.requestEnded(partialMessage: true)
        #expect(secondEnd == .none)
    }

    @Test("a parked provider is resumed when the call fails, so the error trailers go out")
    func providerParkedWhenTheHandlerFails() {
        var machine = Self.machine(after: [.requestHeadersEnded, .callStartedWithDeadline, .outputMessages])
        machine.providerParked()
        #expect(machine.response == .parked)
        let deadline = machine.deadlineFired()
        #expect(deadline == .failCall)
        var asked = false
        let action = machine.outputReady {
            asked = true
            return .endedWithoutMessages
        }
        #expect(action == .resumeData)
        #expect(!asked, "once HEADERS are out the queue's contents do not matter")
        let trailers = machine.responseBodyEnded()
        #expect(trailers == .submitTrailers(.closeOutbound))
        let closed = machine.streamClosed()
        #expect(closed == .release([.abortInbound, .closeOutbound]))
    }

    @Test("a call failing before any output answers Trailers-Only, once")
    func failureBeforeOutputIsTrailersOnly() {
        var machine = Self.machine(after: [.requestHeadersEnded, .callStartedWithDeadline])
        let failure = machine.requestDeframingFailed()
        #expect(failure == .failCall)
        #expect(!machine.requestDataReceived(), "later DATA of an unreadable request is dropped")
        let trailersOnly = machine.outputReady { .endedWithoutMessages }
        #expect(trailersOnly == .submitTrailersOnly([.cancelDeadlineTimer, .closeOutbound]))
        let lateDeadline = machine.deadlineFired()
        #expect(lateDeadline == .none)
        let lateEnd = machine.requestEnded(partialMessage: true)
        #expect(lateEnd == .none, "the response already ended")
        let secondOutput = machine.outputReady { .endedWithoutMessages }
        #expect(secondOutput == .none)
    }

    @Test("a handler with nothing written yet leaves the response unstarted")
    func nothingPendingWaits() {
        var machine = Self.machine(after: [.requestHeadersEnded, .callStarted])
        let nothingYet = machine.outputReady { .nothing }
        #expect(nothingYet == .none)
        #expect(machine.response == .notStarted)
        machine.providerParked()
        #expect(machine.response == .notStarted, "no provider exists before the HEADERS")
    }

    @Test("header fields count toward the limit; past it every field is dropped and the block is refused")
    func headerListLimit() {
        var machine = Machine()
        let first = machine.headerFieldReceived(size: 60, limit: 100)
        #expect(first)
        let atLimit = machine.headerFieldReceived(size: 40, limit: 100)
        #expect(atLimit, "exactly the limit is allowed")
        let overLimit = machine.headerFieldReceived(size: 1, limit: 100)
        #expect(!overLimit)
        let afterOverLimit = machine.headerFieldReceived(size: 1, limit: 1000)
        #expect(!afterOverLimit, "once over, always over")
        #expect(machine.headerListSize == 102)
        let blockEnd = machine.headersEnded(isRequest: true)
        #expect(blockEnd == .resetStream(.enhanceYourCalm, []))
        let rejection = machine.callRejected()
        #expect(!rejection)
        let calmDown = machine.connectionCalmedDown()
        #expect(calmDown == .resetStream(.cancel, []))
    }

    @Test("a rejected call never starts, and its end needs nothing released")
    func rejectedCallStaysRejected() {
        var machine = Self.machine(after: [.requestHeadersEnded])
        let rejection = machine.callRejected()
        #expect(rejection)
        let secondRejection = machine.callRejected()
        #expect(!secondRejection, "the rejection goes out once")
        machine.callStarted(deadlineArmed: true)
        #expect(machine.phase == .rejected)
        #expect(!machine.deadlineArmed)
        #expect(!machine.requestDataReceived())
        let closed = machine.streamClosed()
        #expect(closed == .none)
    }

    // MARK: Every reachable state

    @Test("from every state reachable in eight events, every event keeps the lifecycle's promises")
    func reachableStatesKeepInvariants() {
        let seen = exploreReachableStates(from: Machine(), events: Array(Event.allCases), depth: 8) {
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
        #expect(!after.deadlineArmed || after.phase == .running, context)
        if before.phase == .running { #expect(after.phase == .running || after.phase == .closed, context) }
        guard case .action(let action) = outcome else { return }
        switch action {
        case .none, .finishInbound:
            break
        case .startCall:
            #expect(before.phase == .receivingHeaders && after.phase == .receivingHeaders, context)
        case .resetStream(let code, let release):
            #expect(code == .cancel ? after.phase == .closed : after.phase == .rejected, context)
            checkRelease(release, before: before, context: context)
        case .failCall:
            #expect(before.phase == .running && before.response != .ended, context)
        case .submitResponseHeaders:
            #expect(before.response == .notStarted && after.response == .streaming, context)
        case .submitTrailersOnly(let release):
            #expect(before.response == .notStarted && after.response == .ended, context)
            #expect(release.contains(.closeOutbound) && !release.contains(.cancelHandler), context)
            checkRelease(release, before: before, context: context)
        case .resumeData:
            #expect(before.response == .parked && after.response == .streaming, context)
        case .submitTrailers(let release):
            #expect(before.response == .streaming || before.response == .parked, context)
            #expect(after.response == .ended, context)
            checkRelease(release, before: before, context: context)
        case .release(let release):
            #expect(after.phase == .closed, context)
            checkRelease(release, before: before, context: context)
        }
    }

    static func checkRelease(_ release: Machine.Release, before: Machine, context: Comment) {
        #expect(release.contains(.cancelDeadlineTimer) == before.deadlineArmed, context)
        if release.contains(.cancelHandler) { #expect(before.response != .ended, context) }
        if before.phase != .running { #expect(release.isEmpty, context) }
    }
}
