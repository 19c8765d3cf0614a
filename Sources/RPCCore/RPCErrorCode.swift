extension RPCError {
    /// A gRPC status code; the numbers and names are those of https://grpc.github.io/grpc/core/md_doc_statuscodes.html .
    public struct Code: Hashable, Sendable, RawRepresentable, CaseIterable, CustomStringConvertible {
        /// The number sent on the wire in the `grpc-status` trailer.
        public let rawValue: Int

        /// Accepts only the 17 numbers gRPC defines; a transport maps any other received number to `.unknown`.
        public init?(rawValue: Int) {
            guard Self.canonicalNames.indices.contains(rawValue) else { return nil }
            self.rawValue = rawValue
        }

        private init(number: Int) { self.rawValue = number }

        /// The canonical upper-snake name, e.g. "INVALID_ARGUMENT".
        public var name: String { Self.canonicalNames[rawValue] }

        /// The canonical name, so errors print as "NOT_FOUND: ...".
        public var description: String { name }

        /// Every code in numeric order.
        public static let allCases: [Code] = Self.canonicalNames.indices.map { Code(number: $0) }

        // Indexed by status number.
        private static let canonicalNames = [
            "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
            "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
            "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
        ]

        /// Not an error; the call succeeded.
        public static let ok = Code(number: 0)
        /// The call was cancelled, typically by the caller.
        public static let cancelled = Code(number: 1)
        /// An error without a more specific code, e.g. a handler threw something that is not an `RPCError`.
        public static let unknown = Code(number: 2)
        /// The request is malformed; the message names the offending field.
        public static let invalidArgument = Code(number: 3)
        /// The deadline passed before the call completed.
        public static let deadlineExceeded = Code(number: 4)
        /// A requested entity (grant, record) does not exist.
        public static let notFound = Code(number: 5)
        /// The entity a client tried to create already exists (a replayed transaction).
        public static let alreadyExists = Code(number: 6)
        /// The caller is known but the policy does not allow the operation.
        public static let permissionDenied = Code(number: 7)
        /// A size or rate limit was hit.
        public static let resourceExhausted = Code(number: 8)
        /// The system is not in the state the operation needs (wrong sequence, revoked key).
        public static let failedPrecondition = Code(number: 9)
        /// The operation was aborted, typically by a concurrency conflict.
        public static let aborted = Code(number: 10)
        /// The operation was attempted past a valid range.
        public static let outOfRange = Code(number: 11)
        /// The method is not implemented or not known by the server.
        public static let unimplemented = Code(number: 12)
        /// An invariant the system relies on is broken: a real bug.
        public static let internalError = Code(number: 13)
        /// The service cannot serve now (cannot commit, shutting down); retrying may succeed.
        public static let unavailable = Code(number: 14)
        /// Unrecoverable data loss or corruption.
        public static let dataLoss = Code(number: 15)
        /// No or bad credentials.
        public static let unauthenticated = Code(number: 16)
    }
}
