import HealthLedgerProtos

extension LedgerClient {
    /// Erases the content of this patient's records (`recordIDs`), or of every record of theirs when `recordIDs` is
    /// nil, by destroying their data key. The records' metadata and hashes stay on the chain; later queries show
    /// them as erased.
    public func erase(recordIDs: [String]?, reason: String) async throws -> Healthledger_V1_EraseResponse {
        var erasure = Healthledger_V1_ErasureRequest()
        if let recordIDs {
            var list = Healthledger_V1_RecordIdList()
            list.recordIds = recordIDs
            erasure.scope = .records(list)
        } else {
            erasure.scope = .allRecords(true)
        }
        erasure.reason = reason
        let stub = self.stub
        return try await submit(.erasureRequest(erasure)) { signed in
            var request = Healthledger_V1_EraseRequest()
            request.transaction = signed
            return try await stub.erase(request)
        }
    }
}
