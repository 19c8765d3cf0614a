extension RPCError {
    /// The status a client sees for an error a server handler threw.
    ///
    /// An `RPCError` passes through unchanged. Anything else becomes UNKNOWN carrying the error's description,
    /// as grpc-go does for a handler error that carries no status (`status.FromError` -> `codes.Unknown`).
    /// A `CancellationError` means the call was torn down around the handler, so it reads as CANCELLED.
    public init(convertingHandlerError error: any Error) {
        switch error {
        case let error as RPCError:
            self = error
        case is CancellationError:
            self.init(.cancelled, "the call was cancelled")
        default:
            self.init(.unknown, String(describing: error))
        }
    }
}
