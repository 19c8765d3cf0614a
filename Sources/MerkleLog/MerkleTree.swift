/// An append-only Merkle tree over leaf hashes, answering root hashes and proofs for any size up to its current one.
///
/// Storage is one flat buffer per level: `levels[k]` holds, end to end, the 32-byte hashes of the complete subtrees
/// of 2^k leaves, left to right (level 0 is the leaves). That is about 64 bytes per leaf and no heap object per
/// hash. Every subtree the RFC 9162 algorithms name for a tree of size n is either such a complete subtree or a
/// right-edge subtree ending at n, which is rebuilt from at most log2(n) complete ones, so roots and proofs for any
/// size cost O(log n) hashes.
public struct MerkleTree: Sendable {
    private static let hashSize = MerkleHash.byteCount

    private var levels: [[UInt8]] = [[]]

    /// Number of leaves appended.
    public private(set) var size: UInt64 = 0

    /// An empty tree.
    public init() {}

    /// Makes room for `leafCount` leaves in total, so that rebuilding a known number of entries allocates once.
    public mutating func reserveCapacity(_ leafCount: UInt64) {
        var count = Int(leafCount)
        var level = 0
        while count > 0 {
            if levels.count == level { levels.append([]) }
            levels[level].reserveCapacity(count * Self.hashSize)
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
        while levels.count <= carries { levels.append([]) }
        let leafIndex = Int(size)
        levels.withUnsafeMutableBufferPointer { buffers in
            buffers[0].append(contentsOf: leafHash)
            for level in 0..<carries {
                let pairStart = ((leafIndex >> level) - 1) * Self.hashSize
                let parent = buffers[level].withUnsafeBytes {
                    MerkleHash.node(
                        children: UnsafeRawBufferPointer(rebasing: $0[pairStart..<(pairStart + 2 * Self.hashSize)]))
                }
                buffers[level + 1].append(contentsOf: parent)
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
        let start = Int(index) * Self.hashSize
        return Array(levels[0][start..<(start + Self.hashSize)])
    }

    /// The audit path PATH(leafIndex, D[treeSize]) of RFC 9162 section 2.1.3.1, deepest sibling first.
    public func inclusionProof(leafIndex: UInt64, treeSize: UInt64) throws(MerkleProofError) -> [[UInt8]] {
        guard treeSize <= size else { throw .treeSizeAboveLogSize(treeSize, size) }
        guard leafIndex < treeSize else { throw .leafIndexNotBelowTreeSize(leafIndex, treeSize) }
        // PATH(m, D[n]) for n > 1 splits at k, the largest power of two below n: for m < k it is
        // PATH(m, D[0:k]) : MTH(D[k:n]), otherwise PATH(m - k, D[k:n]) : MTH(D[0:k]). Walked top-down over the range
        // [low, high) that holds the leaf, collecting siblings outermost first, then reversed.
        let leaf = Int(leafIndex)
        var low = 0
        var high = Int(treeSize)
        var proof: [[UInt8]] = []
        while high - low > 1 {
            let split = Self.largestPowerOfTwo(below: high - low)
            if leaf < low + split {
                proof.append(subtreeHash(start: low + split, count: high - low - split))
                high = low + split
            } else {
                proof.append(subtreeHash(start: low, count: split))
                low += split
            }
        }
        proof.reverse()
        return proof
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
        let lowestLevel = count.trailingZeroBitCount
        var hash = storedHash(level: lowestLevel, index: ((start + count) >> lowestLevel) - 1)
        var remaining = count & (count - 1)
        while remaining != 0 {
            let level = remaining.trailingZeroBitCount
            let pieceStart = start + ((count >> (level + 1)) << (level + 1))
            hash = levels[level].withUnsafeBytes { buffer in
                hash.withUnsafeBytes { right in
                    let offset = (pieceStart >> level) * Self.hashSize
                    return MerkleHash.node(
                        UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + Self.hashSize)]), right)
                }
            }
            remaining &= remaining - 1
        }
        return hash
    }

    /// The hash of the `index`-th complete subtree of 2^level leaves.
    private func storedHash(level: Int, index: Int) -> [UInt8] {
        let start = index * Self.hashSize
        return Array(levels[level][start..<(start + Self.hashSize)])
    }

    /// The largest power of two strictly below `count`, for count >= 2: the RFC's split point k.
    static func largestPowerOfTwo(below count: Int) -> Int {
        1 << (Int.bitWidth - 1 - (count - 1).leadingZeroBitCount)
    }
}
