import EtcdProtos

// Readable transactions: `TxnRequest(if: [.modRevision(of: key, .equal, seen)], then: [.put(key, value)])`.

extension Etcdserverpb_Compare {
    /// `key`'s value compared with `value` ("the key still holds what I read").
    public static func value(of key: [UInt8], _ result: CompareResult = .equal, _ value: [UInt8]) -> Self {
        compare(key, .value, result, .value(value))
    }

    /// `key`'s last modification revision compared with `revision` (0: the key does not exist).
    public static func modRevision(of key: [UInt8], _ result: CompareResult = .equal, _ revision: Int64) -> Self {
        compare(key, .mod, result, .modRevision(revision))
    }

    /// `key`'s creation revision compared with `revision`; `createRevision(of: key, .equal, 0)` holds when the
    /// key does not exist ("create only if absent").
    public static func createRevision(of key: [UInt8], _ result: CompareResult = .equal, _ revision: Int64) -> Self {
        compare(key, .create, result, .createRevision(revision))
    }

    /// `key`'s version (number of changes since its creation; 0: absent) compared with `version`.
    public static func version(of key: [UInt8], _ result: CompareResult = .equal, _ version: Int64) -> Self {
        compare(key, .version, result, .version(version))
    }

    /// The lease attached to `key` compared with `lease` (0: none).
    public static func lease(of key: [UInt8], _ result: CompareResult = .equal, _ lease: Int64) -> Self {
        compare(key, .lease, result, .lease(lease))
    }

    /// The same comparison for every key in [`key`, `end`) instead of `key` alone.
    public func forRange(end: [UInt8]) -> Self {
        var compare = self
        compare.rangeEnd = end
        return compare
    }

    private static func compare(
        _ key: [UInt8], _ target: CompareTarget, _ result: CompareResult, _ operand: TargetUnion
    ) -> Self {
        var compare = Self()
        compare.key = key
        compare.target = target
        compare.result = result
        compare.targetUnion = operand
        return compare
    }
}

extension Etcdserverpb_RequestOp {
    /// Sets `key` to `value` (attached to `lease`, 0: none).
    public static func put(_ key: [UInt8], _ value: [UInt8], lease: Int64 = 0) -> Self {
        var put = Etcdserverpb_PutRequest()
        put.key = key
        put.value = value
        put.lease = lease
        var operation = Self()
        operation.request = .requestPut(put)
        return operation
    }

    /// Reads the keys in [`key`, `end`) (only `key` when `end` is nil).
    public static func range(_ key: [UInt8], end: [UInt8]? = nil, limit: Int64 = 0) -> Self {
        var range = Etcdserverpb_RangeRequest()
        range.key = key
        range.rangeEnd = end ?? []
        range.limit = limit
        var operation = Self()
        operation.request = .requestRange(range)
        return operation
    }

    /// Deletes the keys in [`key`, `end`) (only `key` when `end` is nil).
    public static func deleteRange(_ key: [UInt8], end: [UInt8]? = nil) -> Self {
        var delete = Etcdserverpb_DeleteRangeRequest()
        delete.key = key
        delete.rangeEnd = end ?? []
        var operation = Self()
        operation.request = .requestDeleteRange(delete)
        return operation
    }
}

extension Etcdserverpb_TxnRequest {
    /// A transaction applying `success` when every comparison in `compare` holds, else `failure`.
    public init(
        if compare: [Etcdserverpb_Compare], then success: [Etcdserverpb_RequestOp],
        else failure: [Etcdserverpb_RequestOp] = []
    ) {
        self.init()
        self.compare = compare
        self.success = success
        self.failure = failure
    }
}
