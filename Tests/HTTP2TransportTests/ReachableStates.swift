/// Every state a state machine reaches from `start` within `depth` events, each transition handed to `visit`
/// (state before, event, state after) as it is explored; returns the distinct states seen.
func exploreReachableStates<Machine: Hashable, Event>(
    from start: Machine, events: [Event], depth: Int,
    visit: (_ before: Machine, _ event: Event, _ after: inout Machine) -> Void
) -> Set<Machine> {
    var frontier = [start]
    var seen: Set<Machine> = [start]
    for _ in 0..<depth {
        var next: [Machine] = []
        for state in frontier {
            for event in events {
                var machine = state
                visit(state, event, &machine)
                if seen.insert(machine).inserted { next.append(machine) }
            }
        }
        frontier = next
    }
    return seen
}
