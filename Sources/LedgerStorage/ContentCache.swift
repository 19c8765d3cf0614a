/// The plaintext of small record contents read recently, so that reading one again costs a lookup instead of an
/// open, two decryptions, a hash and a close. Bounded in bytes; the entry stored first is dropped first.
///
/// Holds only content whose hash and length were checked. Not thread-safe: `RecordContentStore` keeps it under a
/// lock and removes a patient's entries under that patient's lock whenever their content is erased.
struct ContentCache {
    /// What an entry is charged beyond its bytes: dictionary slots, array headers and its place in the order.
    static let entryOverhead = 128

    /// The most bytes (contents plus `entryOverhead` each) held at once; 0 keeps nothing.
    let capacity: Int
    /// Bytes held now, counted as for `capacity`.
    private(set) var byteCount = 0
    /// Entries held now.
    private(set) var count = 0
    private var byPatient: [String: [[UInt8]: [UInt8]]] = [:]
    /// Keys in the order they were stored; may still name entries removed since (skipped when reached).
    private var order: [(patient: String, sha256: [UInt8])] = []
    private var orderStart = 0

    /// An empty cache holding at most `capacity` bytes.
    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// The content of `patient` that hashes to `sha256`, if held.
    func content(patient: String, sha256: [UInt8]) -> [UInt8]? {
        byPatient[patient]?[sha256]
    }

    /// Keeps `content` (already checked against `sha256`), dropping the oldest entries to make room; content larger
    /// than the whole capacity is not kept.
    mutating func insert(_ content: [UInt8], patient: String, sha256: [UInt8]) {
        let cost = content.count + Self.entryOverhead
        guard cost <= capacity, byPatient[patient]?[sha256] == nil else { return }
        while byteCount + cost > capacity, orderStart < order.count {
            let oldest = order[orderStart]
            orderStart += 1
            remove(patient: oldest.patient, sha256: oldest.sha256)
        }
        byPatient[patient, default: [:]][sha256] = content
        byteCount += cost
        count += 1
        order.append((patient, sha256))
        compactOrder()
    }

    /// Drops the content of `patient` that hashes to `sha256`.
    mutating func remove(patient: String, sha256: [UInt8]) {
        guard let removed = byPatient[patient]?.removeValue(forKey: sha256) else { return }
        if byPatient[patient]?.isEmpty == true { byPatient[patient] = nil }
        byteCount -= removed.count + Self.entryOverhead
        count -= 1
    }

    /// Drops every content of `patient`.
    mutating func removeAll(patient: String) {
        guard let removed = byPatient.removeValue(forKey: patient) else { return }
        for content in removed.values { byteCount -= content.count + Self.entryOverhead }
        count -= removed.count
    }

    /// Keeps the order list near the number of entries held: drops the consumed front, and when removals left
    /// too many stale keys behind, rebuilds it from the entries held (oldest first still).
    private mutating func compactOrder() {
        if orderStart >= 1_024 && orderStart * 2 >= order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
        guard order.count - orderStart > 2 * count + 1_024 else { return }
        var seen = Set<OrderKey>()
        var live: [(patient: String, sha256: [UInt8])] = []
        live.reserveCapacity(count)
        for key in order[orderStart...].reversed() where content(patient: key.patient, sha256: key.sha256) != nil {
            if seen.insert(OrderKey(patient: key.patient, sha256: key.sha256)).inserted { live.append(key) }
        }
        order = live.reversed()
        orderStart = 0
    }

    private struct OrderKey: Hashable {
        var patient: String
        var sha256: [UInt8]
    }
}
