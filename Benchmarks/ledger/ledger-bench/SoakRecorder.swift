import Glibc
import Synchronization

/// The operations the soak mixes, in the order of their CSV columns.
enum SoakOperation: String, CaseIterable, Sendable {
    /// A patient's Grant (READ on imaging to a churn grantee), later revoked.
    case grant
    /// A patient's Revoke of its previous churn grant.
    case revoke
    /// A grantee's Write of a small lab record for a patient (under the patient's WRITE permit).
    case write
    /// A grantee's audited Query of three fixed records of a patient, with content.
    case query
    /// CreateSessionChallenge then CreateSession.
    case session
    /// DeleteSession of that session (then a check that the token is refused).
    case logout
    /// GetChainHead.
    case head
    /// GetInclusionProof of a random entry at the latest checkpoint.
    case proof
    /// GetBlocks of the last five headers.
    case blocks
    /// A query's audit event reaching the patient's live AuditStream follower, timed from the query's due time.
    case audit
}

/// Latencies and errors per operation, filled by concurrent tasks: the current window (taken every interval)
/// and the totals of the run.
final class SoakWindows: Sendable {
    /// One window's figures.
    struct Window: Sendable {
        var samples: [SoakOperation: LatencySamples] = [:]
        var errors: [SoakOperation: Int] = [:]
    }

    /// Completed calls and errors of one operation over the whole run.
    struct Total: Sendable {
        var completed = 0
        var errors = 0
    }

    private let window = Mutex(Window())
    private let totals = Mutex<[SoakOperation: Total]>([:])
    /// Error messages printed per operation before the rest are only counted.
    private static let printedErrors = 20

    /// Records one successful `operation` that took `nanoseconds`.
    func completed(_ operation: SoakOperation, _ nanoseconds: Int64) {
        window.withLock { $0.samples[operation, default: LatencySamples()].add(max(0, nanoseconds)) }
        totals.withLock { $0[operation, default: Total()].completed += 1 }
    }

    /// Records one failed `operation`; the first few messages per operation go to standard error.
    func failed(_ operation: SoakOperation, _ message: String) {
        window.withLock { $0.errors[operation, default: 0] += 1 }
        let count = totals.withLock { table -> Int in
            table[operation, default: Total()].errors += 1
            return table[operation]!.errors
        }
        if count <= Self.printedErrors { Report.error("soak: \(operation.rawValue) error \(count): \(message)") }
    }

    /// The window so far; starts a new one.
    func take() -> Window {
        window.withLock { current in
            defer { current = Window() }; return current
        }
    }

    /// The totals so far.
    func total(_ operation: SoakOperation) -> Total { totals.withLock { $0[operation] ?? Total() } }

    /// Errors of every operation so far.
    var errorCount: Int { totals.withLock { $0.values.reduce(0) { $0 + $1.errors } } }
}

/// What a process holds, read from /proc: the figures that grow when something leaks.
struct ProcessProbe: Sendable {
    let pid: Int

    /// VmRSS in KiB (0 when the process is gone).
    func rssKiB() -> Int { statusField("VmRSS:") }

    /// Threads of the process.
    func threads() -> Int { statusField("Threads:") }

    /// Open file descriptors (entries of /proc/<pid>/fd).
    func openFileDescriptors() -> Int {
        guard let directory = opendir("/proc/\(pid)/fd") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { count += 1 }
        }
        return count
    }

    private func statusField(_ prefix: String) -> Int {
        guard let file = fopen("/proc/\(pid)/status", "r") else { return 0 }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 512)
        while fgets(&buffer, 512, file) != nil {
            let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard line.hasPrefix(prefix) else { continue }
            return Int(
                line.dropFirst(prefix.count).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first
                    ?? "") ?? 0
        }
        return 0
    }
}

/// Pairs a query's audit sequence (known when its QueryStarted arrives) with the follower receiving that event,
/// whichever comes first, so delivery latency is measured without keeping every event. Latency runs from the
/// query's due time: the follower often has the event before the querier has QueryStarted.
final class AuditDeliveries: Sendable {
    private struct Pending {
        var answered: [String: Int64] = [:]
        var delivered: [String: Int64] = [:]
    }

    private let pending = Mutex(Pending())

    /// The key of `sequence` in the stream of patient number `patient`.
    static func key(patient: Int, sequence: UInt64) -> String { "\(patient):\(sequence)" }

    /// A query due at `at` was answered; returns the delivery latency when the follower had it already.
    func answered(_ key: String, at: Int64) -> Int64? {
        pending.withLock { table in
            if let delivered = table.delivered.removeValue(forKey: key) { return delivered - at }
            table.answered[key] = at
            return nil
        }
    }

    /// The follower received event `key` at `at`; returns the delivery latency when the query's answer was seen.
    func delivered(_ key: String, at: Int64) -> Int64? {
        pending.withLock { table in
            if let answered = table.answered.removeValue(forKey: key) { return at - answered }
            table.delivered[key] = at
            return nil
        }
    }

    /// Forgets deliveries no query claimed within `grace` (events of other actions), and returns (and forgets) the
    /// keys of queries whose event was not delivered within `grace`: each one is an error.
    func expire(now: Int64, grace: Int64) -> [String] {
        pending.withLock { table in
            table.delivered = table.delivered.filter { now - $0.value < grace }
            let missing = table.answered.filter { now - $0.value >= grace }.map(\.key)
            for key in missing { table.answered[key] = nil }
            return missing
        }
    }

    /// Queries still waiting for their event.
    var waiting: Int { pending.withLock { $0.answered.count } }
}

/// The soak's CSV file: one row per interval with the server's memory and descriptors and, per operation, the
/// window's completed count, p50/p99/max latency (ms) and errors.
struct SoakCSV {
    private let file: UnsafeMutablePointer<FILE>

    /// Creates (truncates) `path` and writes the header.
    init(path: String) {
        guard let file = fopen(path, "w") else { BenchOptions.fail("cannot write \(path)") }
        self.file = file
        var columns = [
            "elapsed_s", "server_rss_mib", "server_fds", "server_threads", "log_entries", "log_blocks",
            "client_rss_mib",
        ]
        for operation in SoakOperation.allCases {
            let name = operation.rawValue
            columns += ["\(name)_count", "\(name)_p50_ms", "\(name)_p99_ms", "\(name)_max_ms", "\(name)_errors"]
        }
        columns.append("errors")
        write(columns)
    }

    /// Writes one row.
    func row(
        elapsedSeconds: Double, server: ProcessProbe, logEntries: UInt64, logBlocks: UInt64, client: ProcessProbe,
        window: SoakWindows.Window
    ) {
        var fields = [
            Format.fixed(elapsedSeconds, 1), Format.fixed(Double(server.rssKiB()) / 1024, 1),
            "\(server.openFileDescriptors())", "\(server.threads())", "\(logEntries)", "\(logBlocks)",
            Format.fixed(Double(client.rssKiB()) / 1024, 1),
        ]
        var errors = 0
        for operation in SoakOperation.allCases {
            let samples = window.samples[operation] ?? LatencySamples()
            let p = samples.percentiles([50, 99, 100])
            let failed = window.errors[operation] ?? 0
            errors += failed
            fields += ["\(samples.count)", Format.ms(p[0]), Format.ms(p[1]), Format.ms(p[2]), "\(failed)"]
        }
        fields.append("\(errors)")
        write(fields)
    }

    /// Closes the file.
    func close() { fclose(file) }

    private func write(_ fields: [String]) {
        fputs(fields.joined(separator: ",") + "\n", file)
        fflush(file)
    }
}

/// A value shared by concurrent tasks behind a lock (a `Mutex` cannot be captured by escaping closures itself).
final class SharedState<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    init(_ initial: Value) { value = Mutex(initial) }

    /// Runs `body` on the value under the lock.
    func withLock<T: Sendable>(_ body: (inout Value) -> T) -> T { value.withLock { body(&$0) } }
}
