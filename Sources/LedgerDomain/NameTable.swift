/// Principal ids (and "*") that fixed-width rows name by position, each stored once: a row holds a 4-byte position
/// instead of a 41-character string.
public struct NameTable: RandomAccessCollection, Sendable {
    private var names = ChunkedArray<String>()
    private var index = ShardedDictionary<String, UInt32>()

    /// An empty table.
    public init() {}

    /// Index of the first name: 0.
    public var startIndex: Int { 0 }
    /// One past the last name.
    public var endIndex: Int { names.count }

    /// The name at `position`.
    public subscript(position: Int) -> String { names[position] }

    /// The position of `name`, nil when it is not in the table.
    func position(ofExisting name: String) -> UInt32? { index[name] }

    /// The position of `name`, added if new.
    mutating func position(of name: String) -> UInt32 {
        if let position = index[name] { return position }
        let position = UInt32(names.count)
        names.append(name)
        index[name] = position
        return position
    }

    /// Makes room for `total` names.
    mutating func reserveCapacity(_ total: Int) {
        names.reserveCapacity(total)
        index.reserveCapacity(total)
    }
}
