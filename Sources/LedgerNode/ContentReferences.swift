import Synchronization

/// Counts the writes in flight per stored content (patient and hash), so that content a refused write leaves
/// behind is deleted only when no other upload of the same bytes is about to commit a record pointing at it.
final class ContentReferences: Sendable {
    /// One write's hold on a content.
    struct Reference: Sendable, Hashable {
        var patient: String
        var sha256: [UInt8]
    }

    private let counts = Mutex<[Reference: Int]>([:])

    /// Marks a write of `sha256` for `patient` in flight.
    func retain(patient: String, sha256: [UInt8]) -> Reference {
        let reference = Reference(patient: patient, sha256: sha256)
        counts.withLock { $0[reference, default: 0] += 1 }
        return reference
    }

    /// Ends a write's hold.
    func release(_ reference: Reference) {
        counts.withLock { counts in
            let remaining = (counts[reference] ?? 1) - 1
            counts[reference] = remaining > 0 ? remaining : nil
        }
    }

    /// Writes in flight holding `reference`'s content.
    func count(of reference: Reference) -> Int {
        counts.withLock { $0[reference] ?? 0 }
    }
}
