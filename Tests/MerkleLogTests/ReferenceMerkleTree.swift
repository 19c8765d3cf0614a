import LedgerCrypto
import MerkleLog

/// The oracle: RFC 9162 section 2.1 written as literally as possible, recursion over slices and all, with its own
/// hashing straight from SHA-256 so that it shares nothing with MerkleLog but the definition.
enum ReferenceMerkleTree {
    /// HASH(0x00 || d), section 2.1.1.
    static func leafHash(_ entry: [UInt8]) -> [UInt8] {
        SHA256.hash([0x00] + entry)
    }

    /// HASH(0x01 || left || right), section 2.1.1.
    static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        SHA256.hash([0x01] + left + right)
    }

    /// MTH(D[n]) over leaf hashes, section 2.1.1: HASH() for n = 0, the leaf hash for n = 1, and otherwise
    /// HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])) with k the largest power of two smaller than n.
    static func root(_ leaves: ArraySlice<[UInt8]>) -> [UInt8] {
        switch leaves.count {
        case 0: return SHA256.hash([])
        case 1: return leaves[leaves.startIndex]
        default:
            let k = largestPowerOfTwo(below: leaves.count)
            let split = leaves.startIndex + k
            return nodeHash(root(leaves[..<split]), root(leaves[split...]))
        }
    }

    /// PATH(m, D[n]), section 2.1.3.1.
    static func path(_ m: Int, _ leaves: ArraySlice<[UInt8]>) -> [[UInt8]] {
        guard leaves.count > 1 else { return [] }
        let k = largestPowerOfTwo(below: leaves.count)
        let split = leaves.startIndex + k
        if m < k {
            return path(m, leaves[..<split]) + [root(leaves[split...])]
        }
        return path(m - k, leaves[split...]) + [root(leaves[..<split])]
    }

    /// PROOF(m, D[n]) = SUBPROOF(m, D[n], true), section 2.1.4.1.
    static func proof(_ m: Int, _ leaves: ArraySlice<[UInt8]>) -> [[UInt8]] {
        subproof(m, leaves, true)
    }

    /// SUBPROOF(m, D[n], b), section 2.1.4.1.
    static func subproof(_ m: Int, _ leaves: ArraySlice<[UInt8]>, _ b: Bool) -> [[UInt8]] {
        if m == leaves.count {
            return b ? [] : [root(leaves)]
        }
        let k = largestPowerOfTwo(below: leaves.count)
        let split = leaves.startIndex + k
        if m <= k {
            return subproof(m, leaves[..<split], b) + [root(leaves[split...])]
        }
        return subproof(m - k, leaves[split...], false) + [root(leaves[..<split])]
    }

    /// The k of section 2.1.1: the largest power of two smaller than n (n > 1), found by doubling.
    static func largestPowerOfTwo(below n: Int) -> Int {
        var k = 1
        while k * 2 < n { k *= 2 }
        return k
    }
}

/// Distinct entries for test trees: entry i is "entry <i>".
func sampleEntries(_ count: Int) -> [[UInt8]] {
    (0..<count).map { Array("entry \($0)".utf8) }
}

/// A tree and the reference leaf hashes of `count` sample entries.
func sampleTree(_ count: Int) -> (tree: MerkleTree, leafHashes: [[UInt8]]) {
    let leafHashes = sampleEntries(count).map(ReferenceMerkleTree.leafHash)
    var tree = MerkleTree()
    for leafHash in leafHashes { tree.append(leafHash: leafHash) }
    return (tree, leafHashes)
}

/// Hex of a hash for readable failure messages.
func hex(_ bytes: [UInt8]) -> String {
    Hex.encode(bytes)
}

/// Bytes of a hex literal in the test data (which is always well-formed).
func unhex(_ text: String) -> [UInt8] {
    Hex.decode(text)!
}
