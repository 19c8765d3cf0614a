/// An array kept in chunks of 4,096 elements, so that a copy of the ledger state (taken for a background snapshot)
/// shares every chunk, and the committer's next change copies the one chunk it touches instead of the whole array.
///
/// Only appends and in-place replacement: the state never removes committed items.
public struct ChunkedArray<Element>: RandomAccessCollection {
    static var chunkShift: Int { 12 }
    static var chunkMask: Int { (1 << chunkShift) - 1 }

    private var chunks: [ContiguousArray<Element>] = []
    /// Number of elements.
    public private(set) var count = 0

    /// An empty array.
    public init() {}

    /// Index of the first element: 0.
    public var startIndex: Int { 0 }
    /// One past the last element: `count`.
    public var endIndex: Int { count }

    /// The element at `position`, which must be below `count`.
    public subscript(position: Int) -> Element {
        get {
            precondition(position >= 0 && position < count, "index \(position) out of range 0..<\(count)")
            return chunks[position >> Self.chunkShift][position & Self.chunkMask]
        }
        _modify {
            precondition(position >= 0 && position < count, "index \(position) out of range 0..<\(count)")
            yield &chunks[position >> Self.chunkShift][position & Self.chunkMask]
        }
    }

    /// Appends `element` at the end.
    public mutating func append(_ element: Element) {
        if count & Self.chunkMask == 0 {
            chunks.append([])
            // A chunk that will fill is allocated once; the first, possibly small, one grows as usual.
            if count > 0 { chunks[chunks.count - 1].reserveCapacity(Self.chunkMask + 1) }
        }
        chunks[chunks.count - 1].append(element)
        count += 1
    }

    /// Appends every element of `elements` in order.
    public mutating func append(contentsOf elements: some Sequence<Element>) {
        for element in elements { append(element) }
    }

    /// Makes room for `total` elements' chunk references (the chunks themselves are allocated as they fill).
    public mutating func reserveCapacity(_ total: Int) {
        chunks.reserveCapacity((total + Self.chunkMask) >> Self.chunkShift)
    }
}

extension ChunkedArray: Sendable where Element: Sendable {}
