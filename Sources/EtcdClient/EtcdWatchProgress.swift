import EtcdProtos

/// Changes a watch delivers together: the events of one or more revisions, in order.
public struct EtcdWatchBatch: Sendable, Hashable {
    /// The store's revision when etcd sent the batch. For a progress notification (no events), every later event
    /// has a higher revision.
    public var revision: Int64
    /// The events in revision order; empty for a progress notification.
    public var events: [Mvccpb_Event]

    /// A batch of `events` sent at `revision`.
    public init(revision: Int64, events: [Mvccpb_Event]) {
        self.revision = revision
        self.events = events
    }

    /// Whether this batch only says how far the watch has got (`progressNotify`).
    public var isProgressNotification: Bool { events.isEmpty }
}

/// How far a watch has got, and what each WatchResponse means for it, without I/O: the revision a resumed watch
/// starts from is the one after the last delivered, so a watch moved to another member loses and repeats nothing.
struct EtcdWatchProgress: Sendable, Hashable {
    /// The revision the watch (re)starts from; 0 before the first response of a watch started "from now".
    private(set) var nextRevision: Int64

    /// What to do with one response.
    enum Step: Sendable, Hashable {
        /// Hand the caller this batch.
        case deliver(EtcdWatchBatch)
        /// Nothing for the caller (the watch was created).
        case skip
        /// The watch is over.
        case fail(EtcdError)
    }

    /// A watch starting at `nextRevision` (0: now).
    init(nextRevision: Int64) {
        self.nextRevision = nextRevision
    }

    /// The create request that starts (or resumes) the watch `base` describes, from `nextRevision`.
    func createRequest(_ base: Etcdserverpb_WatchCreateRequest) -> Etcdserverpb_WatchRequest {
        var create = base
        create.startRevision = nextRevision
        var request = Etcdserverpb_WatchRequest()
        request.requestUnion = .createRequest(create)
        return request
    }

    /// Takes in `response`. etcd sends a revision's events in one response (a watch created without `fragment`), so
    /// the revision after the last event is where the next response starts; a progress notification's revision
    /// was passed entirely.
    mutating func handle(_ response: Etcdserverpb_WatchResponse) -> Step {
        let revision = response.header?.revision ?? 0
        if response.compactRevision > 0 {
            return .fail(.compacted(compactRevision: response.compactRevision))
        }
        if response.canceled {
            return .fail(
                .watchCancelled(reason: response.cancelReason.isEmpty ? "no reason given" : response.cancelReason))
        }
        if response.created {
            // A watch from "now" starts after the revision it was created at.
            if nextRevision == 0 { nextRevision = revision + 1 }
            return .skip
        }
        if let last = response.events.last?.kv?.modRevision {
            nextRevision = max(nextRevision, last + 1)
            return .deliver(EtcdWatchBatch(revision: revision, events: response.events))
        }
        nextRevision = max(nextRevision, revision + 1)
        return .deliver(EtcdWatchBatch(revision: revision, events: []))
    }
}
