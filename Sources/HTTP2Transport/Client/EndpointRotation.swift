/// Which endpoints of a failover transport a call tries, and in what order, without I/O: the endpoint in use
/// first, then the others that have not failed lately, in turn after it; endpoints that failed lately come last,
/// the one back soonest first. Calls stay on an endpoint until it fails; a failed endpoint is passed over for
/// `downtime`. Times are monotonic nanoseconds, passed in, so every sequence of events can be tested.
struct EndpointRotation: Hashable {
    /// How many endpoints there are.
    let count: Int
    /// How long an endpoint that failed is passed over.
    let downtime: UInt64
    /// The endpoint calls go to while it works.
    private(set) var current = 0
    /// Until when each endpoint is passed over; nil when it has not failed lately.
    private(set) var downUntil: [UInt64?]

    /// A rotation over `count` endpoints (at least one), starting with the first, passing failed ones over for
    /// `downtime`.
    init(count: Int, downtime: Duration) {
        precondition(count > 0, "a rotation needs at least one endpoint")
        self.count = count
        self.downtime = downtime.nanoseconds
        self.downUntil = Array(repeating: nil, count: count)
    }

    /// Whether `index` failed less than `downtime` before `now`.
    func isDown(_ index: Int, now: UInt64) -> Bool {
        guard let until = downUntil[index] else { return false }
        return now < until
    }

    /// The endpoints a call tries, in order: every endpoint once.
    func attemptOrder(now: UInt64) -> [Int] {
        let ring = (0..<count).map { (current + $0) % count }
        let up = ring.filter { !isDown($0, now: now) }
        // Down endpoints by when they are back, ties in ring order (their position after `current`).
        let down = ring.enumerated().filter { isDown($0.element, now: now) }
            .sorted { (downUntil[$0.element] ?? 0, $0.offset) < (downUntil[$1.element] ?? 0, $1.offset) }
            .map(\.element)
        return up + down
    }

    /// A call reached `index` (its connection is ready): later calls go there too, and it is no longer down.
    mutating func reached(_ index: Int) {
        current = index
        downUntil[index] = nil
    }

    /// `index` could not be reached, or a call on it failed UNAVAILABLE, at `now`: it is passed over for `downtime`;
    /// when it was the one in use, calls move on to the next endpoint that is up (else simply the next).
    mutating func failed(_ index: Int, now: UInt64) {
        downUntil[index] = now &+ downtime
        guard index == current else { return }
        let others = (1..<count).map { (index + $0) % count }
        current = others.first { !isDown($0, now: now) } ?? (index + 1) % count
    }
}
