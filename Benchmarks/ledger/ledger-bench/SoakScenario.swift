import Glibc
import HTTP2Transport
import HealthLedgerClient
import HealthLedgerProtos
import LedgerCrypto
import RPCCore
import Synchronization

/// `soak`: a fixed, moderate mix of every kind of call for a long time (30 minutes by default), writing a CSV row
/// every interval with the server's RSS, open descriptors and threads and each operation's latencies, so that
/// memory growth or latency drift shows over time. Patients grant and revoke, grantees write small records and
/// query fixed ones, followers watch two patients' audit streams live, sessions are created and deleted, and the
/// chain is read (head, inclusion proofs, block headers). Every transaction is signed before the clock starts;
/// every schedule is open-loop, so latency is taken from each call's due time. Errors are counted, not fatal, and
/// make the run exit non-zero at the end.
enum SoakScenario {
    /// A transaction ready to send, and what its answer must name.
    struct Call: Sendable {
        var operation: SoakOperation
        var requests: [[UInt8]]
        var transactionID: String
    }

    /// Everyone taking part, set up through the node before the clock starts.
    struct Cast: Sendable {
        var patients: [QueryFixture.Patient]
        var grantees: [LedgerIdentity]
        var chainID: String
    }

    static func run(_ options: inout BenchOptions, port: Int) async throws {
        let seconds = duration(options.string("duration", "30m"))
        let interval = options.double("interval", 10)
        let csvPath = options.string("csv", "soak.csv")
        let patientCount = options.int("patients", 8)
        let granteeCount = options.int("grantees", 4)
        let followerCount = options.int("followers", 2)
        let grantRate = options.double("grant-rate", 4)
        let writeRate = options.double("write-rate", 8)
        let queryRate = options.double("query-rate", 20)
        let sessionRate = options.double("session-rate", 5)
        let chainRate = options.double("chain-rate", 20)
        let contentBytes = options.int("content-bytes", 256)
        let connectionCount = options.int("connections", 4)
        let serverPID = options.int("server-pid", 0)
        options.rejectUnknown()
        if serverPID <= 0 { BenchOptions.fail("soak needs --server-pid (its RSS and descriptors are the figures)") }
        guard patientCount >= 1, granteeCount >= 1, followerCount <= patientCount, connectionCount >= 1 else {
            BenchOptions.fail("soak needs at least one patient and grantee, and no more followers than patients")
        }

        // Followers have a connection each; the load shares the others.
        let load = try LedgerConnections(port: port, count: connectionCount)
        let followerConnections = try LedgerConnections(port: port, count: followerCount)
        let cast = try await setUp(patients: patientCount, grantees: granteeCount, connections: load)
        let churnGrantee = LedgerIdentity.generate().id
        let churn = await parallelMap(patientCount) { index in
            churnCalls(
                patient: cast.patients[index].identity, grantee: churnGrantee, chainID: cast.chainID,
                firstSequence: UInt64(3 + granteeCount + 1),
                count: callCount(rate: grantRate / Double(patientCount), seconds: seconds))
        }
        let writes = await parallelMap(granteeCount) { index in
            writeCalls(
                grantee: cast.grantees[index], patients: cast.patients.map(\.id), offset: index, chainID: cast.chainID,
                contentBytes: contentBytes, count: callCount(rate: writeRate / Double(granteeCount), seconds: seconds))
        }
        var tokens: [String] = []
        for (index, grantee) in cast.grantees.enumerated() {
            tokens.append(try await Sessions.token(for: grantee, through: load.transport(for: index)))
        }
        let granteeTokens = SharedState(tokens)
        for transport in load.transports + followerConnections.transports { _ = try await ChainHead.fetch(transport) }
        let before = try await ChainHead.fetch(load.transports[0])
        Report.progress(
            "soak: \(Format.fixed(seconds, 0)) s; per second \(Format.fixed(grantRate, 1)) grants+revokes by \(patientCount) patients, \(Format.fixed(writeRate, 1)) writes of \(contentBytes) B and \(Format.fixed(queryRate, 1)) queries by \(granteeCount) grantees, \(Format.fixed(sessionRate, 1)) sessions created and deleted, \(Format.fixed(chainRate, 1)) each of head, proof and blocks; \(followerCount) audit followers; a CSV row every \(Format.fixed(interval, 0)) s to \(csvPath)"
        )

        let windows = SoakWindows()
        let deliveries = AuditDeliveries()
        let stop = SharedFlag()
        let head = SharedState((height: before.height, treeSize: before.treeSize))

        // Followers first: each replays its patient's trail, then waits for new events.
        var followers: [Task<Void, Never>] = []
        for index in 0..<followerCount {
            let ready = SharedFlag()
            let patient = cast.patients[index]
            let transport = followerConnections.transports[index]
            followers.append(
                Task {
                    await follow(
                        patient, number: index, through: transport, ready: ready, deliveries: deliveries,
                        windows: windows, stop: stop)
                })
            while !ready.isSet && !stop.isSet { try await Task.sleep(for: .milliseconds(5)) }
        }

        let start = Clock.now() + 100_000_000
        let end = start + Int64(seconds * 1e9)
        let reporter = Task {
            await report(
                every: interval, start: start, end: end, csvPath: csvPath, server: ProcessProbe(pid: serverPID),
                transport: load.transports[0], windows: windows, deliveries: deliveries, stop: stop)
        }
        let renewal = Task {
            await renewSessions(
                cast.grantees, tokens: granteeTokens, through: load.transports[0], windows: windows, stop: stop)
        }
        await withDiscardingTaskGroup { group in
            // Transactions: one in flight per author, each author on its own schedule, phases spread evenly.
            let streams =
                (churn.map { ($0, grantRate / Double(patientCount)) }
                + writes.map { ($0, writeRate / Double(granteeCount)) })
                .filter { !$0.0.isEmpty && $0.1 > 0 }
            for (index, (calls, rate)) in streams.enumerated() {
                let transport = load.transport(for: index)
                let phase = Int64(Double(index) / Double(streams.count) * 1e9 / rate)
                group.addTask {
                    await sendInOrder(
                        calls, rate: rate, start: start + phase, end: end, through: transport, windows: windows)
                }
            }
            group.addTask {
                await schedule(rate: queryRate, start: start, end: end) { index, due in
                    let patientIndex = index % patientCount
                    let grantee = (index / patientCount) % granteeCount
                    let token = granteeTokens.withLock { $0[grantee] }
                    do {
                        let timing = try await QueryCall.run(
                            cast.patients[patientIndex], through: load.transport(for: index), options: bearer(token))
                        windows.completed(.query, timing.finishedAt - due)
                        if patientIndex < followerCount,
                            let latency = deliveries.answered(
                                AuditDeliveries.key(patient: patientIndex, sequence: timing.auditSequence), at: due)
                        {
                            windows.completed(.audit, latency)
                        }
                    } catch {
                        windows.failed(.query, "query of patient \(patientIndex) by grantee \(grantee): \(error)")
                    }
                }
            }
            group.addTask {
                await schedule(rate: sessionRate, start: start, end: end) { index, due in
                    await sessionRoundTrip(
                        cast.patients[index % patientCount].identity, chainID: cast.chainID, due: due,
                        through: load.transport(for: index), windows: windows)
                }
            }
            group.addTask {
                await schedule(rate: chainRate, start: start, end: end) { index, due in
                    do {
                        let latest = try await ChainHead.fetch(load.transport(for: index))
                        windows.completed(.head, Clock.now() - due)
                        head.withLock { if latest.treeSize > $0.treeSize { $0 = (latest.height, latest.treeSize) } }
                    } catch {
                        windows.failed(.head, "\(error)")
                    }
                }
            }
            group.addTask {
                await schedule(rate: chainRate, start: start, end: end) { index, due in
                    let known = head.withLock { $0 }
                    await inclusionProof(
                        leaf: UInt64.random(in: 0..<max(1, known.treeSize)), atLeast: known.treeSize, due: due,
                        through: load.transport(for: index), windows: windows)
                }
            }
            group.addTask {
                await schedule(rate: chainRate, start: start, end: end) { index, due in
                    await lastHeaders(
                        upTo: head.withLock { $0.height }, due: due, through: load.transport(for: index),
                        windows: windows)
                }
            }
        }
        // Give the followers the last events, then close the last window.
        let drainUntil = Clock.now() + 5_000_000_000
        while deliveries.waiting > 0 && Clock.now() < drainUntil { try await Task.sleep(for: .milliseconds(10)) }
        stop.set()
        renewal.cancel()
        await reporter.value
        for follower in followers { follower.cancel() }

        let after = try await ChainHead.fetch(load.transports[0])
        let committed = [SoakOperation.grant, .revoke, .write, .query].reduce(0) { $0 + windows.total($1).completed }
        if after.treeSize - before.treeSize != UInt64(committed) {
            windows.failed(
                .query,
                "the log grew by \(after.treeSize - before.treeSize) entries; \(committed) transactions and queries were answered"
            )
        }
        var fields: [String] = []
        for operation in SoakOperation.allCases {
            let total = windows.total(operation)
            fields.append("\(operation.rawValue)=\(total.completed)")
        }
        Report.result(
            "soak",
            [
                "seconds": Format.fixed(seconds, 0), "errors": "\(windows.errorCount)",
                "log_entries": "\(after.treeSize - before.treeSize)", "completed": fields.joined(separator: ";"),
            ])
        await load.close()
        await followerConnections.close()
        if windows.errorCount > 0 { Report.failRun("soak", "\(windows.errorCount) errors (see above and the CSV)") }
    }

    /// Seconds in `text`: a number with an optional unit s, m or h ("30m", "180s", "1h").
    static func duration(_ text: String) -> Double {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600]
        let unit = text.last.flatMap { units[$0] }
        guard let value = Double(unit == nil ? text : String(text.dropLast())), value > 0 else {
            BenchOptions.fail("--duration \(text): expected e.g. 30m, 180s or 1h")
        }
        return value * (unit ?? 1)
    }

    /// Calls one author needs to keep `rate` per second going for `seconds`.
    static func callCount(rate: Double, seconds: Double) -> Int {
        rate > 0 ? Int((rate * seconds).rounded(.up)) + 1 : 0
    }

    /// Patients with three 64-byte lab records each and a READ+WRITE permit on labs for treatment to every
    /// grantee; sent through the node like any load.
    static func setUp(patients: Int, grantees: Int, connections: LedgerConnections) async throws -> Cast {
        let chainID = try await ChainHead.fetch(connections.transports[0]).chainID
        let granteeIdentities = (0..<grantees).map { _ in LedgerIdentity.generate() }
        let granteeIDs = granteeIdentities.map(\.id)
        let createdAt = Presigner.wallClockMs()
        let prepared: [(PatientCalls, QueryFixture.Patient)] = await parallelMap(patients) { _ in
            let identity = LedgerIdentity.generate()
            let signer = TransactionSigner(identity: identity, chainID: chainID)
            var calls: [PreparedCall] = []
            var contents: [[UInt8]] = []
            for index in 0..<3 {
                let content = SecureRandom.bytes(64)
                contents.append(content)
                calls.append(
                    Presigner.writeCall(
                        signer: signer, content: content, sequence: UInt64(index + 1), createdAt: createdAt))
            }
            for (index, grantee) in granteeIDs.enumerated() {
                let call = grantCall(
                    signer: signer, grantee: grantee, actions: [.read, .write], categories: [.labs],
                    sequence: UInt64(4 + index), createdAt: createdAt)
                calls.append(PreparedCall(kind: .grant, requests: call.requests, transactionID: call.transactionID))
            }
            let recordIDs = calls.prefix(3).map(\.transactionID)
            var request = Healthledger_V1_QueryRequest()
            request.patient = identity.id
            request.categories = [.labs]
            request.purpose = .treatment
            request.recordIds = recordIDs
            request.includeContent = true
            return (
                PatientCalls(patient: identity.id, calls: calls),
                QueryFixture.Patient(
                    identity: identity, id: identity.id, recordIDs: recordIDs, contents: contents,
                    request: request.serializedBytes())
            )
        }
        let outcome = await TransactionLoad.send(
            prepared.map(\.0), connections: connections, inflight: patients, scenario: "soak (setup)")
        Report.progress(
            "soak: set up \(patients) patients and \(grantees) grantees (\(outcome.committed) transactions)")
        return Cast(patients: prepared.map(\.1), grantees: granteeIdentities, chainID: chainID)
    }

    /// A signed PERMIT grant of `actions` on `categories` for treatment to `grantee`.
    static func grantCall(
        signer: TransactionSigner, grantee: String, actions: [Healthledger_V1_Action],
        categories: [Healthledger_V1_DataCategory], sequence: UInt64, createdAt: Int64
    ) -> Call {
        var grant = Healthledger_V1_Grant()
        grant.patient = signer.identity.id
        grant.grantee = grantee
        grant.actions = actions
        grant.categories = categories
        grant.purposes = [.treatment]
        grant.effect = .permit
        let signed = signer.sign(
            .grant(grant), sequence: sequence, createdAt: createdAt, attachPublicKey: sequence == 1)
        var request = Healthledger_V1_GrantRequest()
        request.transaction = signed
        return Call(
            operation: .grant, requests: [request.serializedBytes()],
            transactionID: TransactionSigner.transactionID(of: signed))
    }

    /// A patient's `count` transactions alternating a grant of READ on imaging to `grantee` and its revoke.
    static func churnCalls(
        patient: LedgerIdentity, grantee: String, chainID: String, firstSequence: UInt64, count: Int
    ) -> [Call] {
        let signer = TransactionSigner(identity: patient, chainID: chainID)
        let createdAt = Presigner.wallClockMs()
        var calls: [Call] = []
        calls.reserveCapacity(count)
        for offset in 0..<count {
            let sequence = firstSequence + UInt64(offset)
            if offset % 2 == 0 {
                calls.append(
                    grantCall(
                        signer: signer, grantee: grantee, actions: [.read], categories: [.imaging], sequence: sequence,
                        createdAt: createdAt))
            } else {
                var revoke = Healthledger_V1_Revoke()
                revoke.grantId = calls[offset - 1].transactionID
                let signed = signer.sign(
                    .revoke(revoke), sequence: sequence, createdAt: createdAt, attachPublicKey: false)
                var request = Healthledger_V1_RevokeRequest()
                request.transaction = signed
                calls.append(
                    Call(
                        operation: .revoke, requests: [request.serializedBytes()],
                        transactionID: TransactionSigner.transactionID(of: signed)))
            }
        }
        return calls
    }

    /// A grantee's `count` writes of `contentBytes` random bytes, to the patients in turn starting at `offset`.
    static func writeCalls(
        grantee: LedgerIdentity, patients: [String], offset: Int, chainID: String, contentBytes: Int, count: Int
    ) -> [Call] {
        let signer = TransactionSigner(identity: grantee, chainID: chainID)
        let createdAt = Presigner.wallClockMs()
        return (0..<count).map { index in
            let call = Presigner.writeCall(
                signer: signer, content: SecureRandom.bytes(contentBytes), sequence: UInt64(index + 1),
                createdAt: createdAt,
                patient: patients[(offset + index) % patients.count])
            return Call(operation: .write, requests: call.requests, transactionID: call.transactionID)
        }
    }

    /// Sends one author's calls in order, call `k` due at `start + k / rate`; a late answer delays the next call
    /// and counts against it. A failed call ends the stream (the author's later sequences could not commit).
    static func sendInOrder(
        _ calls: [Call], rate: Double, start: Int64, end: Int64, through transport: HTTP2ClientTransport,
        windows: SoakWindows
    ) async {
        for (index, call) in calls.enumerated() {
            let due = start + Int64(Double(index) * 1e9 / rate)
            guard due < end else { return }
            await Clock.sleep(until: due)
            do {
                try await commit(call, through: transport)
                windows.completed(call.operation, Clock.now() - due)
            } catch {
                windows.failed(
                    call.operation, "\(call.operation.rawValue) \(call.transactionID): \(error); this author stops")
                return
            }
        }
    }

    /// Sends one transaction and checks the answer names it.
    static func commit(_ call: Call, through transport: HTTP2ClientTransport) async throws {
        let answered: String
        switch call.operation {
        case .grant:
            let bytes = try await RawCalls.single(transport, Healthledger_V1_LedgerMethods.grant, call.requests)
            answered = try RawCalls.decode(Healthledger_V1_GrantResponse.self, bytes).receipt?.transactionId ?? ""
        case .revoke:
            let bytes = try await RawCalls.single(transport, Healthledger_V1_LedgerMethods.revoke, call.requests)
            answered = try RawCalls.decode(Healthledger_V1_RevokeResponse.self, bytes).receipt?.transactionId ?? ""
        case .write:
            let bytes = try await RawCalls.single(transport, Healthledger_V1_LedgerMethods.write, call.requests)
            answered = try RawCalls.decode(Healthledger_V1_WriteResponse.self, bytes).recordId
        default:
            preconditionFailure("\(call.operation) is not a transaction")
        }
        guard answered == call.transactionID else {
            throw RPCError(.internalError, "answered \(answered), expected \(call.transactionID)")
        }
    }

    /// Launches `request(i, due)` at `rate` per second from `start` until `end`, each as its own task.
    static func schedule(
        rate: Double, start: Int64, end: Int64, _ request: @escaping @Sendable (Int, Int64) async -> Void
    ) async {
        guard rate > 0 else { return }
        await Clock.sleep(until: start)
        _ = await OpenLoop.run(rate: rate, seconds: Double(end - Clock.now()) / 1e9, request)
    }

    /// Creates a session for `identity` (challenge, signature, token), deletes it, and checks the deleted token is
    /// refused.
    static func sessionRoundTrip(
        _ identity: LedgerIdentity, chainID: String, due: Int64, through transport: HTTP2ClientTransport,
        windows: SoakWindows
    ) async {
        let stub = Healthledger_V1_LedgerClient(transport: transport)
        let token: String
        do {
            token = try await LedgerClient.createSession(for: identity, chainID: chainID, through: stub).token
            windows.completed(.session, Clock.now() - due)
        } catch {
            windows.failed(.session, "\(error)")
            return
        }
        let sent = Clock.now()
        do {
            _ = try await stub.deleteSession(Healthledger_V1_DeleteSessionRequest(), options: bearer(token))
            windows.completed(.logout, Clock.now() - sent)
        } catch {
            windows.failed(.logout, "\(error)")
            return
        }
        do {
            _ = try await stub.deleteSession(Healthledger_V1_DeleteSessionRequest(), options: bearer(token))
            windows.failed(.logout, "a deleted session's token was accepted")
        } catch let error as RPCError where error.code == .unauthenticated {
        } catch {
            windows.failed(.logout, "a deleted session's token: \(error), expected UNAUTHENTICATED")
        }
    }

    /// GetInclusionProof of `leaf` at the latest checkpoint, which must cover at least `atLeast` entries.
    static func inclusionProof(
        leaf: UInt64, atLeast: UInt64, due: Int64, through transport: HTTP2ClientTransport, windows: SoakWindows
    ) async {
        var request = Healthledger_V1_GetInclusionProofRequest()
        request.leafIndex = leaf
        do {
            let response = try await Healthledger_V1_LedgerClient(transport: transport).getInclusionProof(request)
            guard let proof = response.proof, proof.leafIndex == leaf, proof.treeSize >= atLeast,
                proof.treeSize == 1 || !proof.auditPath.isEmpty
            else { throw RPCError(.internalError, "proof of leaf \(leaf): \(String(describing: response.proof))") }
            windows.completed(.proof, Clock.now() - due)
        } catch {
            windows.failed(.proof, "\(error)")
        }
    }

    /// GetBlocks of the five headers ending at `height`, which must come in height order.
    static func lastHeaders(
        upTo height: UInt64, due: Int64, through transport: HTTP2ClientTransport, windows: SoakWindows
    ) async {
        var request = Healthledger_V1_GetBlocksRequest()
        request.startHeight = height > 5 ? height - 4 : 1
        request.endHeight = height + 1
        do {
            var expected = request.startHeight
            for try await response in try await Healthledger_V1_LedgerClient(transport: transport).getBlocks(request) {
                let header = try RawCalls.decode(Healthledger_V1_BlockHeader.self, response.block?.header ?? [])
                guard header.height == expected else {
                    throw RPCError(.internalError, "header of height \(header.height), expected \(expected)")
                }
                expected += 1
            }
            guard expected == height + 1 else { throw RPCError(.internalError, "headers ended before \(expected)") }
            windows.completed(.blocks, Clock.now() - due)
        } catch {
            windows.failed(.blocks, "\(error)")
        }
    }

    /// Follows `patient`'s audit stream as the patient until `stop`: every event in sequence order and of that
    /// patient; a query's event is matched with its answer for the delivery latency. A session older than 10 minutes
    /// whose token is refused is renewed and the stream resumed after the last event (tokens last 15 minutes by
    /// default).
    static func follow(
        _ patient: QueryFixture.Patient, number: Int, through transport: HTTP2ClientTransport, ready: SharedFlag,
        deliveries: AuditDeliveries, windows: SoakWindows, stop: SharedFlag
    ) async {
        var last: UInt64 = 0
        while !stop.isSet && !Task.isCancelled {
            var sessionStart: Int64 = 0
            do {
                sessionStart = Clock.now()
                let token = try await Sessions.token(for: patient.identity, through: transport)
                var request = Healthledger_V1_AuditStreamRequest()
                request.patient = patient.id
                request.startSequence = last + 1
                request.follow = true
                for try await bytes in try await RawCalls.stream(
                    transport, Healthledger_V1_LedgerMethods.auditStream, request.serializedBytes(),
                    options: bearer(token))
                {
                    let at = Clock.now()
                    switch try AuditStreamReading.full(bytes) {
                    case .replayCompleted:
                        ready.set()
                    case .event(let sequence, let eventPatient):
                        guard sequence > last, eventPatient == Array(patient.id.utf8) else {
                            throw RPCError(.internalError, "event \(sequence) after \(last), or of another patient")
                        }
                        last = sequence
                        if let latency = deliveries.delivered(
                            AuditDeliveries.key(patient: number, sequence: sequence), at: at)
                        {
                            windows.completed(.audit, latency)
                        }
                    }
                }
                if stop.isSet || Task.isCancelled { return }
                windows.failed(.audit, "follower \(number): the stream ended")
            } catch let error as RPCError
                where error.code == .unauthenticated && Clock.now() - sessionStart > 10 * 60 * 1_000_000_000
            {
                continue
            } catch {
                if stop.isSet || Task.isCancelled { return }
                windows.failed(.audit, "follower \(number): \(error)")
            }
            ready.set()
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Replaces the grantees' session tokens every 5 minutes (tokens last 15 by default): the new one is used at once,
    /// the old one deleted a few seconds later, when calls that picked it up have ended.
    static func renewSessions(
        _ grantees: [LedgerIdentity], tokens: SharedState<[String]>, through transport: HTTP2ClientTransport,
        windows: SoakWindows, stop: SharedFlag
    ) async {
        let stub = Healthledger_V1_LedgerClient(transport: transport)
        while !stop.isSet {
            do { try await Task.sleep(for: .seconds(5 * 60)) } catch { return }
            for (index, grantee) in grantees.enumerated() {
                do {
                    let fresh = try await Sessions.token(for: grantee, through: transport)
                    let old = tokens.withLock { table in
                        defer { table[index] = fresh }; return table[index]
                    }
                    try await Task.sleep(for: .seconds(5))
                    _ = try await stub.deleteSession(Healthledger_V1_DeleteSessionRequest(), options: bearer(old))
                } catch is CancellationError {
                    return
                } catch {
                    windows.failed(.session, "renewing grantee \(index)'s session: \(error)")
                }
            }
        }
    }

    /// Writes a CSV row every `interval` seconds from `start` until `stop` is set (after `end`): the server's
    /// RSS, descriptors and threads, the log's size (entries and blocks) and the window's figures. Also fails queries whose audit
    /// event never reached the follower.
    static func report(
        every interval: Double, start: Int64, end: Int64, csvPath: String, server: ProcessProbe,
        transport: HTTP2ClientTransport, windows: SoakWindows, deliveries: AuditDeliveries, stop: SharedFlag
    ) async {
        let csv = SoakCSV(path: csvPath)
        defer { csv.close() }
        let client = ProcessProbe(pid: Int(getpid()))
        let step = Int64(interval * 1e9)
        var rowAt = start + step
        var logEntries: UInt64 = 0
        var logBlocks: UInt64 = 0
        while true {
            while Clock.now() < rowAt && !stop.isSet { await Clock.sleep(until: min(rowAt, Clock.now() + 100_000_000)) }
            let final = stop.isSet
            let now = Clock.now()
            for key in deliveries.expire(now: now, grace: 30_000_000_000) {
                windows.failed(.audit, "the follower never received the event of query \(key)")
            }
            if let head = try? await ChainHead.fetch(transport) {
                (logEntries, logBlocks) = (head.treeSize, head.height)
            }
            let window = windows.take()
            csv.row(
                elapsedSeconds: Double(now - start) / 1e9, server: server, logEntries: logEntries, logBlocks: logBlocks,
                client: client, window: window)
            let queries = window.samples[.query] ?? LatencySamples()
            Report.progress(
                "soak: \(Format.fixed(Double(now - start) / 1e9, 0)) s, server RSS \(Format.fixed(Double(server.rssKiB()) / 1024, 1)) MiB, \(server.openFileDescriptors()) fds, \(logEntries) log entries, query p99 \(Format.ms(queries.percentiles([99])[0])) ms, errors so far \(windows.errorCount)"
            )
            if final { return }
            rowAt += step
        }
    }
}
