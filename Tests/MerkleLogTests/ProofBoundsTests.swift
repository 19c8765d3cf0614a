import MerkleLog
import Testing

@Suite("Asking for a proof the log cannot give")
struct ProofBoundsTests {
    let log = sampleTree(5).tree

    @Test(
        "Given a log of 5 entries, when a client asks for the inclusion of leaf 7, then it is told the leaf is not in the tree"
    )
    func leafBeyondTree() {
        let error = #expect(throws: MerkleProofError.self) { try log.inclusionProof(leafIndex: 7, treeSize: 5) }
        #expect(error?.description == "leaf index 7 is not below tree size 5")
    }

    @Test(
        "Given a log of 5 entries, when a client asks for leaf 3 in the tree of size 3, then it is told leaf 3 is not below size 3"
    )
    func leafAtTreeSize() {
        let error = #expect(throws: MerkleProofError.self) { try log.inclusionProof(leafIndex: 3, treeSize: 3) }
        #expect(error?.description == "leaf index 3 is not below tree size 3")
    }

    @Test("Given an empty log, when a client asks for the inclusion of leaf 0, then it is told the tree is too small")
    func emptyLog() {
        let error = #expect(throws: MerkleProofError.self) {
            try MerkleTree().inclusionProof(leafIndex: 0, treeSize: 0)
        }
        #expect(error?.description == "leaf index 0 is not below tree size 0")
    }

    @Test("Given a log of 5 entries, when a client asks about a tree of 8, then it is told the log is smaller")
    func treeBeyondLog() {
        let inclusion = #expect(throws: MerkleProofError.self) { try log.inclusionProof(leafIndex: 1, treeSize: 8) }
        #expect(inclusion?.description == "tree size 8 is above the log size 5")
        let root = #expect(throws: MerkleProofError.self) { try log.rootHash(size: 6) }
        #expect(root?.description == "tree size 6 is above the log size 5")
        let consistency = #expect(throws: MerkleProofError.self) {
            try log.consistencyProof(firstSize: 2, secondSize: 9)
        }
        #expect(consistency?.description == "tree size 9 is above the log size 5")
    }

    @Test(
        "Given a log of 5 entries, when a client asks for consistency from size 0 or from a size above the second, then it is told the first size is out of range"
    )
    func firstSizeOutOfRange() {
        let fromEmpty = #expect(throws: MerkleProofError.self) { try log.consistencyProof(firstSize: 0, secondSize: 3) }
        #expect(fromEmpty?.description == "first tree size 0 is not in 1...3 (the second tree size)")
        let backwards = #expect(throws: MerkleProofError.self) { try log.consistencyProof(firstSize: 4, secondSize: 3) }
        #expect(backwards?.description == "first tree size 4 is not in 1...3 (the second tree size)")
    }

    @Test("Given a log of 5 entries, when a client asks for consistency of a size with itself, then the proof is empty")
    func equalSizes() throws {
        for size in 1...5 as ClosedRange<UInt64> {
            #expect(try log.consistencyProof(firstSize: size, secondSize: size) == [])
        }
    }

    @Test("Given two proof errors with the same reason, then they are equal and print as that one line")
    func errorValue() throws {
        let first = #expect(throws: MerkleProofError.self) { try log.inclusionProof(leafIndex: 9, treeSize: 5) }
        let second = #expect(throws: MerkleProofError.self) { try log.inclusionProof(leafIndex: 9, treeSize: 5) }
        #expect(first == second)
        #expect(String(describing: try #require(first)) == "leaf index 9 is not below tree size 5")
    }
}
