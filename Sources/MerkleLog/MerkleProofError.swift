/// Why a proof cannot be produced; description is one line ("leaf index 7 is not below tree size 5").
public struct MerkleProofError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The reason, in one line.
    public var description: String

    init(_ description: String) {
        self.description = description
    }

    /// An inclusion proof asked for a leaf the tree of that size does not have.
    static func leafIndexNotBelowTreeSize(_ leafIndex: UInt64, _ treeSize: UInt64) -> MerkleProofError {
        MerkleProofError("leaf index \(leafIndex) is not below tree size \(treeSize)")
    }

    /// A root or proof asked for a tree larger than the log holds.
    static func treeSizeAboveLogSize(_ treeSize: UInt64, _ logSize: UInt64) -> MerkleProofError {
        MerkleProofError("tree size \(treeSize) is above the log size \(logSize)")
    }

    /// A consistency proof asked from the empty tree or from a tree larger than the second one.
    static func firstSizeOutOfRange(_ firstSize: UInt64, _ secondSize: UInt64) -> MerkleProofError {
        MerkleProofError("first tree size \(firstSize) is not in 1...\(secondSize) (the second tree size)")
    }
}
