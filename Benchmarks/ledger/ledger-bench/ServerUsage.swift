import Glibc

/// The server process's CPU time, read from /proc/<pid>/stat, to say how busy the node was during a timed
/// phase (100 % = one whole core). Absent when no `--server-pid` was given.
struct ServerUsage: Sendable {
    let pid: Int

    /// utime + stime of the process, all threads, in clock ticks.
    func ticks() -> Int? {
        guard let file = fopen("/proc/\(pid)/stat", "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 4096)
        guard fgets(&buffer, 4096, file) != nil else { return nil }
        let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of the line.
        guard let close = line.lastIndex(of: ")") else { return nil }
        let fields = line[line.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    /// A started measurement.
    struct Window {
        let ticks: Int
        let at: Int64
    }

    /// Starts measuring.
    func begin() -> Window? { ticks().map { Window(ticks: $0, at: Clock.now()) } }

    /// Percent of one core used since `window` began, as text ("-" when unknown).
    func percent(since window: Window?) -> String {
        guard let window, let now = ticks() else { return "-" }
        let seconds = Double(Clock.now() - window.at) / 1e9
        let used = Double(now - window.ticks) / Double(sysconf(Int32(_SC_CLK_TCK)))
        return Format.fixed(100 * used / seconds, 0)
    }

    /// This process (the load generator), to tell a saturated generator from a saturated server.
    static var client: ServerUsage { ServerUsage(pid: Int(getpid())) }

    /// The server given by `--server-pid`, if any.
    static func from(_ options: inout BenchOptions) -> ServerUsage? {
        let pid = options.int("server-pid", 0)
        return pid > 0 ? ServerUsage(pid: pid) : nil
    }
}
