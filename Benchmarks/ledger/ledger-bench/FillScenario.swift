import HealthLedgerClient

/// `fill`: commits `transactions` grants through the node (as in `tx`), signing a batch of patients on every
/// core, then sending it, until the count is reached; for the restart measurement that follows.
enum FillScenario {
    static func run(_ options: inout BenchOptions, port: Int) async throws {
        let transactions = options.int("transactions", 1_000_000)
        let perPatient = options.int("per-patient", 20)
        let connectionCount = options.int("connections", 8)
        let inflight = options.int("inflight", 512)
        let batchPatients = options.int("batch-patients", 5_000)
        _ = ServerUsage.from(&options)
        options.rejectUnknown()

        let connections = try LedgerConnections(port: port, count: connectionCount)
        let before = try await ChainHead.fetch(connections.transports[0])
        let clinician = LedgerIdentity.generate()
        var committed = 0
        var sendNs: Int64 = 0
        var signNs: Int64 = 0
        while committed < transactions {
            let remaining = transactions - committed
            let patients = min(batchPatients, (remaining + perPatient - 1) / perPatient)
            let signStart = Clock.now()
            var batch = await Presigner.prepare(
                patients: patients, perPatient: perPatient, kind: .grant, grantee: clinician.id, contentBytes: 0,
                chainID: before.chainID)
            let excess = patients * perPatient - remaining
            if excess > 0 { batch[batch.count - 1].calls.removeLast(excess) }
            signNs += Clock.now() - signStart
            let outcome = await TransactionLoad.send(batch, connections: connections, inflight: inflight, scenario: "fill")
            sendNs += outcome.elapsedNs
            committed += outcome.committed
            Report.progress(
                "fill: \(committed) of \(transactions) committed (batch at \(Format.fixed(Double(outcome.committed) / (Double(outcome.elapsedNs) / 1e9), 0)) tx/s)")
        }
        let after = try await ChainHead.fetch(connections.transports[0])
        guard after.treeSize - before.treeSize == UInt64(transactions) else {
            Report.failRun("fill", "the log grew by \(after.treeSize - before.treeSize) entries, expected \(transactions)")
        }
        Report.result(
            "fill",
            [
                "committed": "\(committed)", "tree_size": "\(after.treeSize)", "height": "\(after.height)",
                "send_tx_per_s": Format.fixed(Double(committed) / (Double(sendNs) / 1e9), 0),
                "sign_seconds": Format.fixed(Double(signNs) / 1e9, 1),
            ])
        await connections.close()
    }
}

/// `head`: prints the chain head, to check a restarted node has every entry.
enum HeadScenario {
    static func run(_ options: inout BenchOptions, port: Int) async throws {
        _ = ServerUsage.from(&options)
        options.rejectUnknown()
        let connections = try LedgerConnections(port: port, count: 1)
        let head = try await ChainHead.fetch(connections.transports[0])
        Report.result("head", ["height": "\(head.height)", "tree_size": "\(head.treeSize)", "chain_id": head.chainID])
        await connections.close()
    }
}
