@testable import MerkleLog
import Testing

/// One tree of 70 sample entries, shared by the sweeps, with the reference's view of the same leaves.
enum SweepFixture {
    static let largestSize = 70
    static let leafHashes = sampleEntries(largestSize).map(ReferenceMerkleTree.leafHash)
    static let tree: MerkleTree = {
        var tree = MerkleTree()
        for leafHash in leafHashes { tree.append(leafHash: leafHash) }
        return tree
    }()

    /// The reference roots of the first 0...70 leaves, computed once.
    static let referenceRoots = (0...largestSize).map { ReferenceMerkleTree.root(leafHashes[..<$0]) }

    /// `referencePaths[size][index]`: PATH(index, D[size]) by the reference, computed once.
    static let referencePaths = (0...largestSize).map { size in
        (0..<size).map { ReferenceMerkleTree.path($0, leafHashes[..<size]) }
    }

    /// `referenceProofs[second][first]`: PROOF(first, D[second]) by the reference for first in 1...second (an
    /// unused empty entry at 0), computed once.
    static let referenceProofs = (0...largestSize).map { second in
        (0...second).map { first in first == 0 ? [] : ReferenceMerkleTree.proof(first, leafHashes[..<second]) }
    }

    /// The reference root of the first `size` leaves.
    static func referenceRoot(_ size: Int) -> [UInt8] {
        referenceRoots[size]
    }
}

@Suite("The tree agrees with the RFC's recursive definitions at every size up to 70")
struct ReferenceAgreementTests {
    @Test(
        "Given a log of 70 entries, when asked for the root of any earlier size, then it is the reference MTH",
        arguments: 0...SweepFixture.largestSize)
    func rootOfEarlierSize(size: Int) throws {
        #expect(try SweepFixture.tree.rootHash(size: UInt64(size)) == SweepFixture.referenceRoot(size))
    }

    @Test(
        "Given a log grown to exactly n entries, then its current root and leaf hashes are the reference ones",
        arguments: 0...SweepFixture.largestSize)
    func currentRoot(size: Int) {
        let (tree, leafHashes) = sampleTree(size)
        #expect(tree.size == UInt64(size))
        #expect(tree.rootHash == ReferenceMerkleTree.root(leafHashes[...]))
        for index in 0..<size {
            #expect(tree.leafHash(at: UInt64(index)) == leafHashes[index])
        }
    }

    @Test(
        "Given a block of n leaf hashes, then MerkleHash.root is the reference MTH",
        arguments: 0...SweepFixture.largestSize)
    func blockRoot(size: Int) {
        let leafHashes = SweepFixture.leafHashes[..<size]
        #expect(MerkleHash.root(ofLeafHashes: leafHashes) == ReferenceMerkleTree.root(leafHashes))
    }

    @Test(
        "Given a tree of n leaves, then every leaf's inclusion proof is the reference PATH and verifies",
        arguments: 1...SweepFixture.largestSize)
    func inclusionProofs(size: Int) throws {
        let leaves = SweepFixture.leafHashes[..<size]
        let root = SweepFixture.referenceRoot(size)
        for index in 0..<size {
            let proof = try SweepFixture.tree.inclusionProof(leafIndex: UInt64(index), treeSize: UInt64(size))
            #expect(proof == SweepFixture.referencePaths[size][index], "leaf \(index) of \(size)")
            #expect(
                MerkleTree.inclusionPathLength(leafIndex: index, treeSize: size) == proof.count,
                "leaf \(index) of \(size)")
            #expect(
                MerkleVerification.isValidInclusion(
                    leafHash: leaves[index], leafIndex: UInt64(index), treeSize: UInt64(size), proof: proof,
                    rootHash: root),
                "leaf \(index) of \(size)")
        }
    }

    @Test(
        "Given a tree of n leaves, then the consistency proof from every size m in 1...n is the reference PROOF and verifies",
        arguments: 1...SweepFixture.largestSize)
    func consistencyProofs(secondSize: Int) throws {
        let secondRoot = SweepFixture.referenceRoot(secondSize)
        for firstSize in 1...secondSize {
            let proof = try SweepFixture.tree.consistencyProof(
                firstSize: UInt64(firstSize), secondSize: UInt64(secondSize))
            #expect(proof == SweepFixture.referenceProofs[secondSize][firstSize], "\(firstSize) to \(secondSize)")
            #expect(
                MerkleVerification.isValidConsistency(
                    firstSize: UInt64(firstSize), secondSize: UInt64(secondSize),
                    firstRoot: SweepFixture.referenceRoot(firstSize), secondRoot: secondRoot, proof: proof),
                "\(firstSize) to \(secondSize)")
        }
    }

    @Test("Given proofs answered at size 40, when the log grows to 70, then the same questions get the same answers")
    func answersAreStableAsTheLogGrows() throws {
        var tree = MerkleTree()
        for leafHash in SweepFixture.leafHashes[..<40] { tree.append(leafHash: leafHash) }
        let root = tree.rootHash
        let inclusion = try tree.inclusionProof(leafIndex: 17, treeSize: 40)
        let consistency = try tree.consistencyProof(firstSize: 13, secondSize: 40)
        var grown = tree
        for leafHash in SweepFixture.leafHashes[40...] { grown.append(leafHash: leafHash) }
        #expect(try grown.rootHash(size: 40) == root)
        #expect(try grown.inclusionProof(leafIndex: 17, treeSize: 40) == inclusion)
        #expect(try grown.consistencyProof(firstSize: 13, secondSize: 40) == consistency)
        // The tree is a value: the copy that grew did not change the original.
        #expect(tree.size == 40)
        #expect(tree.rootHash == root)
    }

    @Test("Given a log rebuilt with capacity reserved up front, then it answers exactly as one grown leaf by leaf")
    func reservedCapacityChangesNothing() throws {
        var rebuilt = MerkleTree()
        rebuilt.reserveCapacity(UInt64(SweepFixture.largestSize))
        for leafHash in SweepFixture.leafHashes { rebuilt.append(leafHash: leafHash) }
        #expect(rebuilt.rootHash == SweepFixture.tree.rootHash)
        #expect(
            try rebuilt.consistencyProof(firstSize: 21, secondSize: 70)
                == SweepFixture.tree.consistencyProof(firstSize: 21, secondSize: 70))
    }
}

@Suite("A tree larger than one storage chunk (32,768 hashes per level chunk)")
struct ChunkedLevelTests {
    static let count = 70_001
    static let leafHashes = sampleEntries(count).map(ReferenceMerkleTree.leafHash)

    @Test("given 70,001 leaves appended one by one or built at once, then roots at sizes around chunk edges are the block-root MTH, and proofs there verify")
    func rootsAndProofsAcrossChunks() throws {
        var appended = MerkleTree()
        for leafHash in Self.leafHashes { appended.append(leafHash: leafHash) }
        let flat = Self.leafHashes.flatMap { $0 }
        let built = flat.withUnsafeBytes { MerkleTree(leafHashes: $0) }
        #expect(built.rootHash == appended.rootHash)
        #expect(built.leafHashes(count: UInt64(Self.count)) == flat)
        for size in [1, 32_767, 32_768, 32_769, 65_535, 65_536, 65_537, Self.count] {
            let expected = MerkleHash.root(ofLeafHashes: Self.leafHashes[..<size])
            #expect(try appended.rootHash(size: UInt64(size)) == expected, "size \(size)")
            #expect(try built.rootHash(size: UInt64(size)) == expected, "size \(size)")
            for index in [0, size / 2, size - 1] {
                let proof = try built.inclusionProof(leafIndex: UInt64(index), treeSize: UInt64(size))
                #expect(MerkleVerification.isValidInclusion(
                    leafHash: Self.leafHashes[index], leafIndex: UInt64(index), treeSize: UInt64(size), proof: proof,
                    rootHash: expected), "leaf \(index) of \(size)")
            }
        }
        let consistency = try appended.consistencyProof(firstSize: 32_769, secondSize: 65_537)
        #expect(MerkleVerification.isValidConsistency(
            firstSize: 32_769, secondSize: 65_537, firstRoot: try appended.rootHash(size: 32_769),
            secondRoot: try appended.rootHash(size: 65_537), proof: consistency))
    }

    @Test("given a copy of a tree, when the original grows past a chunk edge, then the copy still answers as before")
    func copiesStayIndependent() throws {
        var tree = Self.leafHashes[..<32_767].flatMap { $0 }.withUnsafeBytes { MerkleTree(leafHashes: $0) }
        let copy = tree
        let rootBefore = copy.rootHash
        for leafHash in Self.leafHashes[32_767..<32_800] { tree.append(leafHash: leafHash) }
        #expect(copy.size == 32_767)
        #expect(copy.rootHash == rootBefore)
        #expect(tree.rootHash == MerkleHash.root(ofLeafHashes: Self.leafHashes[..<32_800]))
    }
}
