import Glibc

// Charges per second of the node's rate limiter (Sources/LedgerNode/RateLimiter.swift, compiled in beside this file by
// run-rate-limiter-benchmark) on one thread: `known` cycles over 64 principal ids of the real length, `address` charges
// one short address, `new` charges a fresh caller every time (a flood of distinct callers, table bounded at 65,536).
let arguments = CommandLine.arguments
let mode = arguments.count > 1 ? arguments[1] : "known"
let count = arguments.count > 2 ? Int(arguments[2])! : 1_000_000
let limit = RateLimit(calls: 200, per: .seconds(1), burst: 400)!
let clock: @Sendable () -> UInt64 = {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
let limiter = RateLimiter(limit: limit, maxCallers: 65_536, clock: clock)
let principals = (0..<64).map { "hl1qxy7z3k0m9v8c2d5f6g4h3j2k1l0p9o8i7u6y5t4r3e2w1q0a9s8d7f6g5h4j\($0)" }
let newCallers = mode == "new" ? (0..<count).map { "10.\($0 >> 16 & 255).\($0 >> 8 & 255).\($0 & 255)/\($0)" } : []
var allowed = 0
var start = timespec()
clock_gettime(CLOCK_MONOTONIC, &start)
switch mode {
case "known":
    for index in 0..<count where limiter.charge(principals[index & 63]) == .allowed { allowed += 1 }
case "address":
    for _ in 0..<count where limiter.charge("127.0.0.1") == .allowed { allowed += 1 }
case "new":
    for caller in newCallers where limiter.charge(caller) == .allowed { allowed += 1 }
default:
    fatalError("mode: known, address or new")
}
var end = timespec()
clock_gettime(CLOCK_MONOTONIC, &end)
let seconds = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
print("RESULT \(mode) charges=\(count) allowed=\(allowed) per_second=\(Int(Double(count) / seconds)) tracked=\(limiter.trackedCallers)")
