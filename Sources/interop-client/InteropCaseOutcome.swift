/// An assertion of an interop case that did not hold; `reason` is the one line the client prints.
struct InteropCaseFailure: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// Fails the case with `reason` unless `condition` holds.
func require(_ condition: Bool, _ reason: @autoclosure () -> String) throws(InteropCaseFailure) {
    if !condition { throw InteropCaseFailure(reason: reason()) }
}
