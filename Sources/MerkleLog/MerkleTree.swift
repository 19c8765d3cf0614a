/// An append-only Merkle tree over leaf hashes, answering root hashes and proofs for any size up to its current one.
///
/// Storage is one buffer per level: `levels[k]` holds, end to end, the 32-byte hashes of the complete subtrees of 2^k
/// leaves, left to right (level 0 is the leaves). That is about 64 bytes per leaf and no heap object per hash. Each
/// level is kept in 1 MiB chunks, so a copy of the tree (the ledger's snapshot writer takes one) shares them and the
/// next append copies at most one chunk per level instead of every hash. Every subtree the RFC 9162 algorithms name for a tree of size n is either such a complete subtree or a
/// right-edge subtree ending at n, which is rebuilt from at most log2(n) complete ones, so roots and proofs for any
/// size cost O(log n) hashes.
public struct MerkleTree: Sendable {
    private static let hashSize = MerkleHash.byteCount

    private var levels: [HashLevel] = [HashLevel()]

    /// Number of leaves appended.
    public private(set) var size: UInt64 = 0

    /// An empty tree.
    public init() {}

    /// The tree over `leafHashes`: 32-byte leaf hashes end to end, in log order. Builds each level in one pass over
    /// the one below, as appending them one by one would, without an array per leaf.
    public init(leafHashes: UnsafeRawBufferPointer) {
        precondition(leafHashes.count % Self.hashSize == 0, "leaf hashes come in 32-byte units")
        var leaves = HashLevel()
        leaves.append(contentsOf: leafHashes)
        levels = [leaves]
        size = UInt64(leafHashes.count / Self.hashSize)
        var level = 0
        while levels[level].count >= 2 {
            var parents = HashLevel()
            withUnsafeTemporaryAllocation(byteCount: Self.hashSize, alignment: 1) { parent in
                for pair in 0..<(levels[level].count / 2) {
                    levels[level].withPair(at: 2 * pair) { MerkleHash.node(children: $0, into: parent) }
                    parents.append(contentsOf: UnsafeRawBufferPointer(parent))
                }
            }
            levels.append(parents)
            level += 1
        }
    }

    /// The tree of `leafHashes` (32 bytes each, end to end) whose interior hashes were saved by `interiorHashes(count:)`
    /// of a tree of the same leaves: nothing is hashed again. Nil when the sizes do not fit together. For the
    /// node's own checksummed snapshots; the caller checks the root against a signed one.
    public init?(leafHashes: UnsafeRawBufferPointer, interiorHashes: UnsafeRawBufferPointer) {
        guard leafHashes.count % Self.hashSize == 0 else { return nil }
        let count = leafHashes.count / Self.hashSize
        var expected = 0
        var width = count >> 1
        while width > 0 {
            expected += width
            width >>= 1
        }
        guard interiorHashes.count == expected * Self.hashSize else { return nil }
        var leaves = HashLevel()
        leaves.append(contentsOf: leafHashes)
        levels = [leaves]
        var offset = 0
        width = count >> 1
        while width > 0 {
            var level = HashLevel()
            let end = offset + width * Self.hashSize
            level.append(contentsOf: UnsafeRawBufferPointer(rebasing: interiorHashes[offset..<end]))
            levels.append(level)
            offset += width * Self.hashSize
            width >>= 1
        }
        size = UInt64(count)
    }

    /// The stored hashes above the leaves of the tree's first `count` leaves (at most `size`): level 1 (the
    /// complete pairs), then level 2, and so on, each level's hashes end to end.
    public func interiorHashes(count: UInt64) -> [UInt8] {
        precondition(count <= size, "\(count) leaves asked of a tree of \(size)")
        var output: [UInt8] = []
        output.reserveCapacity(Int(count) * Self.hashSize)
        var level = 1
        while Int(count) >> level > 0 {
            output += levels[level].bytes(count: Int(count) >> level)
            level += 1
        }
        return output
    }

    /// The first `count` leaf hashes (at most `size`), 32 bytes each, end to end.
    public func leafHashes(count: UInt64) -> [UInt8] {
        precondition(count <= size, "\(count) leaves asked of a tree of \(size)")
        return levels[0].bytes(count: Int(count))
    }

    /// Makes room for `leafCount` leaves in total, so that rebuilding a known number of entries allocates once.
    public mutating func reserveCapacity(_ leafCount: UInt64) {
        var count = Int(leafCount)
        var level = 0
        while count > 0 {
            if levels.count == level { levels.append(HashLevel()) }
            levels[level].reserveCapacity(count)
            count >>= 1
            level += 1
        }
    }

    /// Appends a leaf by its hash (`MerkleHash.leaf` of the entry), which must be 32 bytes.
    public mutating func append(leafHash: [UInt8]) {
        precondition(leafHash.count == Self.hashSize, "a leaf hash has \(Self.hashSize) bytes, not \(leafHash.count)")
        // Each time the new node is a right child, its parent's subtree has just become complete: hash the sibling
        // pair (adjacent in the level buffer) into the level above. The trailing one bits of the old size count
        // those carries; amortised, one node hash per append.
        let carries = (~size).trailingZeroBitCount
        while levels.count <= carries { levels.append(HashLevel()) }
        let leafIndex = Int(size)
        leafHash.withUnsafeBytes { levels[0].append(contentsOf: $0) }
        if carries > 0 {
            withUnsafeTemporaryAllocation(byteCount: Self.hashSize, alignment: 1) { parent in
                for level in 0..<carries {
                    levels[level].withPair(at: (leafIndex >> level) - 1) { MerkleHash.node(children: $0, into: parent) }
                    levels[level + 1].append(contentsOf: UnsafeRawBufferPointer(parent))
                }
            }
        }
        size += 1
    }

    /// Root hash of the first `size` leaves (any size 0...self.size).
    public func rootHash(size treeSize: UInt64) throws(MerkleProofError) -> [UInt8] {
        guard treeSize <= size else { throw .treeSizeAboveLogSize(treeSize, size) }
        return root(of: Int(treeSize))
    }

    /// Root hash of the tree at its current size.
    public var rootHash: [UInt8] {
        root(of: Int(size))
    }

    /// The hash of the leaf at `index`, which must be below `size`.
    public func leafHash(at index: UInt64) -> [UInt8] {
        precondition(index < size, "leaf index \(index) is not below tree size \(size)")
        return storedHash(level: 0, index: Int(index))
    }

    /// The audit path PATH(leafIndex, D[treeSize]) of RFC 9162 section 2.1.3.1, deepest sibling first.
    public func inclusionProof(leafIndex: UInt64, treeSize: UInt64) throws(MerkleProofError) -> [[UInt8]] {
        guard treeSize <= size else { throw .treeSizeAboveLogSize(treeSize, size) }
        guard leafIndex < treeSize else { throw .leafIndexNotBelowTreeSize(leafIndex, treeSize) }
        // PATH(m, D[n]) for n > 1 splits at k, the largest power of two below n: for m < k it is
        // PATH(m, D[0:k]) : MTH(D[k:n]), otherwise PATH(m - k, D[k:n]) : MTH(D[0:k]). Walked top-down over the range
        // [low, high) that holds the leaf; siblings come outermost first and are stored from the end, so the path
        // reads deepest first. Only the first sibling to the right of the path can be an incomplete subtree (below it
        // every range is a complete one), so a proof hashes at most log2(n) nodes, and at a block's end, where the
        // leaf is near the right edge, almost none. The siblings are gathered into one stack buffer before any array
        // is made, so the cache misses of loading them overlap instead of waiting on an allocation each.
        let leaf = Int(leafIndex)
        let length = Self.inclusionPathLength(leafIndex: leaf, treeSize: Int(treeSize))
        return withUnsafeTemporaryAllocation(byteCount: Swift.max(length, 1) * Self.hashSize, alignment: 16) {
            siblings in
            var low = 0
            var high = Int(treeSize)
            var position = length
            while high - low > 1 {
                let split = Self.largestPowerOfTwo(below: high - low)
                position -= 1
                let slot = UnsafeMutableRawBufferPointer(
                    rebasing: siblings[(position * Self.hashSize)..<((position + 1) * Self.hashSize)])
                if leaf < low + split {
                    subtreeHash(start: low + split, count: high - low - split, into: slot)
                    high = low + split
                } else {
                    subtreeHash(start: low, count: split, into: slot)
                    low += split
                }
            }
            return (0..<length).map { index in
                Array(UnsafeRawBufferPointer(rebasing: siblings[(index * Self.hashSize)..<((index + 1) * Self.hashSize)]))
            }
        }
    }

    /// The consistency proof PROOF(firstSize, D[secondSize]) of RFC 9162 section 2.1.4.1 (first in 1...second;
    /// empty when they are equal).
    public func consistencyProof(firstSize: UInt64, secondSize: UInt64) throws(MerkleProofError) -> [[UInt8]] {
        guard secondSize <= size else { throw .treeSizeAboveLogSize(secondSize, size) }
        guard firstSize >= 1, firstSize <= secondSize else { throw .firstSizeOutOfRange(firstSize, secondSize) }
        // SUBPROOF(m, D[n], b): empty when m = n and b is true, {MTH(D[n])} when m = n and b is false; otherwise, with
        // k the largest power of two below n, SUBPROOF(m, D[0:k], b) : MTH(D[k:n]) when m <= k and
        // SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]) when m > k. PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
        // Walked top-down over the range [low, high) that ends the first tree, then reversed.
        let first = Int(firstSize)
        var low = 0
        var high = Int(secondSize)
        var isWholeFirstTree = true  // the RFC's b
        var proof: [[UInt8]] = []
        proof.reserveCapacity(Int.bitWidth - (high - 1).leadingZeroBitCount + 1)
        while first != high {
            let split = Self.largestPowerOfTwo(below: high - low)
            if first <= low + split {
                proof.append(subtreeHash(start: low + split, count: high - low - split))
                high = low + split
            } else {
                proof.append(subtreeHash(start: low, count: split))
                low += split
                isWholeFirstTree = false
            }
        }
        if !isWholeFirstTree {
            proof.append(subtreeHash(start: low, count: high - low))
        }
        proof.reverse()
        return proof
    }

    /// MTH of the first `count` leaves, `count` at most `size`.
    private func root(of count: Int) -> [UInt8] {
        count == 0 ? MerkleHash.emptyTreeRoot : subtreeHash(start: 0, count: count)
    }

    /// MTH(D[start:start+count]) for a range of the RFC's recursion (count >= 1, start a multiple of the smallest
    /// power of two not below count), which decomposes into complete subtrees of the set bits of count, largest
    /// first; MTH is their right fold.
    private func subtreeHash(start: Int, count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: Self.hashSize) { hash, initialized in
            subtreeHash(start: start, count: count, into: UnsafeMutableRawBufferPointer(hash))
            initialized = Self.hashSize
        }
    }

    /// `subtreeHash(start:count:)` written to `hash` (32 bytes), folding in place without an array per step.
    private func subtreeHash(start: Int, count: Int, into hash: UnsafeMutableRawBufferPointer) {
        let lowestLevel = count.trailingZeroBitCount
        levels[lowestLevel].withHash(at: ((start + count) >> lowestLevel) - 1) { hash.copyMemory(from: $0) }
        var remaining = count & (count - 1)
        while remaining != 0 {
            let level = remaining.trailingZeroBitCount
            let pieceStart = start + ((count >> (level + 1)) << (level + 1))
            levels[level].withHash(at: pieceStart >> level) { left in
                MerkleHash.node(left, UnsafeRawBufferPointer(hash), into: hash)
            }
            remaining &= remaining - 1
        }
    }

    /// Number of hashes in PATH(leafIndex, D[treeSize]): one per split on the way down to the leaf.
    static func inclusionPathLength(leafIndex: Int, treeSize: Int) -> Int {
        var low = 0
        var high = treeSize
        var length = 0
        while high - low > 1 {
            let split = largestPowerOfTwo(below: high - low)
            if leafIndex < low + split { high = low + split } else { low += split }
            length += 1
        }
        return length
    }

    /// The hash of the `index`-th complete subtree of 2^level leaves.
    private func storedHash(level: Int, index: Int) -> [UInt8] {
        levels[level].withHash(at: index) { Array($0) }
    }

    /// The largest power of two strictly below `count`, for count >= 2: the RFC's split point k.
    static func largestPowerOfTwo(below count: Int) -> Int {
        1 << (Int.bitWidth - 1 - (count - 1).leadingZeroBitCount)
    }
}

/// One level of a `MerkleTree`: 32-byte hashes end to end, in chunks of 32,768 hashes (1 MiB). A chunk holds an even
/// number of hashes, so sibling pairs never straddle two.
struct HashLevel: Sendable {
    private static let hashSize = MerkleHash.byteCount
    private static let hashesPerChunk = 1 << 15

    private var chunks: [[UInt8]] = []
    /// Number of hashes.
    private(set) var count = 0

    /// Appends hashes, 32 bytes each, end to end.
    mutating func append(contentsOf hashes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < hashes.count {
            if count % Self.hashesPerChunk == 0 {
                chunks.append([])
                // A chunk that will fill is allocated once; the first, possibly small, one grows as usual.
                if count > 0 { chunks[chunks.count - 1].reserveCapacity(Self.hashesPerChunk * Self.hashSize) }
            }
            let room = (Self.hashesPerChunk - count % Self.hashesPerChunk) * Self.hashSize
            let take = Swift.min(room, hashes.count - offset)
            let piece = UnsafeRawBufferPointer(rebasing: hashes[offset..<(offset + take)])
            chunks[chunks.count - 1].append(contentsOf: piece)
            offset += take
            count += take / Self.hashSize
        }
    }

    /// Appends one 32-byte hash.
    mutating func append(contentsOf hash: [UInt8]) {
        hash.withUnsafeBytes { append(contentsOf: $0) }
    }

    /// Calls `body` with the hash at `index`.
    func withHash<Result>(at index: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        let start = (index % Self.hashesPerChunk) * Self.hashSize
        return chunks[index / Self.hashesPerChunk].withUnsafeBytes {
            body(UnsafeRawBufferPointer(rebasing: $0[start..<(start + Self.hashSize)]))
        }
    }

    /// Calls `body` with the hashes at `index` (even) and `index + 1`, end to end.
    func withPair<Result>(at index: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        let start = (index % Self.hashesPerChunk) * Self.hashSize
        return chunks[index / Self.hashesPerChunk].withUnsafeBytes {
            body(UnsafeRawBufferPointer(rebasing: $0[start..<(start + 2 * Self.hashSize)]))
        }
    }

    /// The first `count` hashes, end to end.
    func bytes(count: Int) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(count * Self.hashSize)
        var remaining = count * Self.hashSize
        for chunk in chunks where remaining > 0 {
            let take = Swift.min(remaining, chunk.count)
            output.append(contentsOf: chunk[0..<take])
            remaining -= take
        }
        return output
    }

    /// Makes room for `total` hashes' chunk references, and fills the current chunk's room.
    mutating func reserveCapacity(_ total: Int) {
        chunks.reserveCapacity((total + Self.hashesPerChunk - 1) / Self.hashesPerChunk)
    }
}
