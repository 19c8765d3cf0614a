import Logging
import Synchronization

/// A log line as a test reads it back.
struct CapturedLogLine: Sendable {
    var level: Logger.Level
    var message: String
    /// The logger's own metadata merged with the line's.
    var metadata: Logger.Metadata

    /// The text of a field, nil when absent.
    func field(_ key: String) -> String? {
        metadata[key].map { "\($0)" }
    }
}

/// Keeps every line logged through its `logger`, for tests (swift-log's InMemoryLogging product is not a
/// dependency of this target).
final class CapturedLogs: Sendable {
    private let lines = Mutex<[CapturedLogLine]>([])
    private let stream: AsyncStream<CapturedLogLine>
    private let continuation: AsyncStream<CapturedLogLine>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: CapturedLogLine.self)
    }

    /// A logger writing here, at every level, without touching the process-wide `LoggingSystem`.
    func logger(label: String = "healthledger.test", metadata: Logger.Metadata = [:]) -> Logger {
        var logger = Logger(label: label) { _ in CapturingLogHandler(logs: self) }
        logger.logLevel = .trace
        for (key, value) in metadata { logger[metadataKey: key] = value }
        return logger
    }

    /// Everything logged so far.
    var all: [CapturedLogLine] { lines.withLock { $0 } }

    /// Waits for the `count`-th line (1-based) and returns all lines up to then.
    func waitForLines(_ count: Int) async -> [CapturedLogLine] {
        if all.count >= count { return all }
        for await _ in stream where all.count >= count { break }
        return all
    }

    fileprivate func append(_ line: CapturedLogLine) {
        lines.withLock { $0.append(line) }
        continuation.yield(line)
    }
}

/// The `LogHandler` behind `CapturedLogs.logger`.
private struct CapturingLogHandler: LogHandler {
    let logs: CapturedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        logs.append(
            CapturedLogLine(
                level: event.level, message: "\(event.message)",
                metadata: metadata.merging(event.metadata ?? [:]) { _, line in line }))
    }
}
