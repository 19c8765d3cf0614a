import LedgerCrypto

/// The bytes of a hex literal in a test (whitespace allowed, for long vectors).
func bytes(_ hex: String) -> [UInt8] {
    guard let decoded = Hex.decode(hex.filter { !$0.isWhitespace }) else { fatalError("bad hex in test: \(hex)") }
    return decoded
}

/// The description of the error `body` throws, or nil when it throws nothing.
func thrownDescription(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch {
        return String(describing: error)
    }
}
