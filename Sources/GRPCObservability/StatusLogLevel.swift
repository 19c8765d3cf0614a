import Logging
import RPCCore

extension RPCError.Code {
    /// The level a finished call with this status is logged at: `success` for OK, `.warning` for statuses that
    /// describe the caller's request or the caller giving up, `.error` for statuses that mean the server is
    /// broken or unable to serve (UNKNOWN, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS), and `.debug` for
    /// RESOURCE_EXHAUSTED: a limit shedding a flood as designed, which metrics count; a line per refused call would
    /// turn the flood into one of log lines.
    func logLevel(success: Logger.Level) -> Logger.Level {
        switch self {
        case .ok:
            return success
        case .unknown, .unimplemented, .internalError, .unavailable, .dataLoss:
            return .error
        case .resourceExhausted:
            return .debug
        default:
            return .warning
        }
    }
}
