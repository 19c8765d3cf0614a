import MerkleLog
import Testing

/// A hash with one bit of byte `byte` flipped.
private func flipped(_ hash: [UInt8], byte: Int = 0) -> [UInt8] {
    var copy = hash
    copy[byte] ^= 0x10
    return copy
}

@Suite("A client rejects tampered inclusion proofs")
struct InclusionTamperingTests {
    @Test(
        "Given every inclusion proof of a tree of n leaves, when any part of the claim is tampered with, then verification fails",
        arguments: 1...SweepFixture.largestSize)
    func tamperedClaims(size: Int) throws {
        let treeSize = UInt64(size)
        let root = SweepFixture.referenceRoot(size)
        for index in 0..<size {
            let leafIndex = UInt64(index)
            let leafHash = SweepFixture.leafHashes[index]
            let proof = try SweepFixture.tree.inclusionProof(leafIndex: leafIndex, treeSize: treeSize)
            func accepts(
                leafHash: [UInt8] = leafHash, leafIndex: UInt64 = leafIndex, treeSize: UInt64 = treeSize,
                proof: [[UInt8]] = proof, root: [UInt8] = root
            ) -> Bool {
                MerkleVerification.isValidInclusion(
                    leafHash: leafHash, leafIndex: leafIndex, treeSize: treeSize, proof: proof, rootHash: root)
            }
            let claim = "leaf \(index) of \(size)"
            #expect(accepts(), "\(claim): the honest claim")

            // A flipped byte anywhere in the proof, the leaf or the root.
            for position in proof.indices {
                for byte in [0, 31] {
                    var wrong = proof
                    wrong[position] = flipped(proof[position], byte: byte)
                    #expect(!accepts(proof: wrong), "\(claim): proof[\(position)] byte \(byte) flipped")
                }
            }
            #expect(!accepts(leafHash: flipped(leafHash)), "\(claim): leaf hash flipped")
            #expect(!accepts(root: flipped(root)), "\(claim): root flipped")
            #expect(
                !accepts(leafHash: SweepFixture.leafHashes[(index + 1) % SweepFixture.largestSize]),
                "\(claim): another leaf")

            // Wrong index, as Certificate Transparency's verifier tests probe.
            if index > 0 { #expect(!accepts(leafIndex: leafIndex - 1), "\(claim): index - 1") }
            #expect(!accepts(leafIndex: leafIndex + 1), "\(claim): index + 1")
            #expect(!accepts(leafIndex: leafIndex ^ 2), "\(claim): index ^ 2")

            // Wrong size with the claimed root: a different height never verifies.
            #expect(!accepts(treeSize: treeSize * 2), "\(claim): size * 2")
            #expect(!accepts(treeSize: treeSize / 2), "\(claim): size / 2")

            // A neighbouring size with that size's own root verifies only where the RFC's path is the same.
            for otherSize in [size - 1, size + 1] where otherSize > index && otherSize <= SweepFixture.largestSize {
                let samePath = SweepFixture.referencePaths[otherSize][index] == proof
                #expect(
                    accepts(treeSize: UInt64(otherSize), root: SweepFixture.referenceRoot(otherSize)) == samePath,
                    "\(claim): checked at size \(otherSize)")
            }

            // Extra, missing and reordered hashes.
            #expect(!accepts(proof: proof + [root]), "\(claim): trailing root")
            #expect(!accepts(proof: proof + [leafHash]), "\(claim): trailing leaf")
            #expect(!accepts(proof: [leafHash] + proof), "\(claim): preceding leaf")
            #expect(!accepts(proof: proof + [[]]), "\(claim): trailing empty hash")
            if !proof.isEmpty {
                #expect(!accepts(proof: Array(proof.dropLast())), "\(claim): last hash missing")
                #expect(!accepts(proof: Array(proof.dropFirst())), "\(claim): first hash missing")
            }
            if proof.count > 1 {
                #expect(!accepts(proof: proof.reversed()), "\(claim): reversed")
            }

            // Hashes of the wrong length.
            #expect(!accepts(leafHash: Array(leafHash.dropLast())), "\(claim): short leaf hash")
            #expect(!accepts(root: root + [0]), "\(claim): long root")
        }
    }

    @Test(
        "Given a proof for size 5, when it is checked at size 6 against the size-5 root, then it verifies: the tree size and its root must come from the same signed head"
    )
    func sizeAndRootBelongTogether() throws {
        let proof = try SweepFixture.tree.inclusionProof(leafIndex: 0, treeSize: 5)
        let leafHash = SweepFixture.leafHashes[0]
        // RFC 9162 section 2.1.3.2 checks the shape of the path, which sizes 5 and 6 share for leaf 0.
        #expect(
            MerkleVerification.isValidInclusion(
                leafHash: leafHash, leafIndex: 0, treeSize: 6, proof: proof, rootHash: SweepFixture.referenceRoot(5)))
        // With the root a size-6 tree really has, the stale proof fails.
        #expect(
            !MerkleVerification.isValidInclusion(
                leafHash: leafHash, leafIndex: 0, treeSize: 6, proof: proof, rootHash: SweepFixture.referenceRoot(6)))
    }

    @Test("Given impossible claims, then verification fails without a proof to check")
    func impossibleClaims() {
        let hash = SweepFixture.leafHashes[0]
        for (leafIndex, treeSize) in [(0, 0), (1, 0), (1, 1), (2, 1), (5, 5)] as [(UInt64, UInt64)] {
            #expect(
                !MerkleVerification.isValidInclusion(
                    leafHash: hash, leafIndex: leafIndex, treeSize: treeSize, proof: [], rootHash: hash),
                "leaf \(leafIndex) of \(treeSize)")
        }
        // A one-leaf tree's root is its leaf hash, and its proof is empty; empty hashes never verify.
        #expect(
            MerkleVerification.isValidInclusion(leafHash: hash, leafIndex: 0, treeSize: 1, proof: [], rootHash: hash))
        #expect(!MerkleVerification.isValidInclusion(leafHash: [], leafIndex: 0, treeSize: 1, proof: [], rootHash: []))
    }
}

@Suite("A client rejects tampered consistency proofs")
struct ConsistencyTamperingTests {
    @Test(
        "Given every consistency proof to a tree of n leaves, when any part of the claim is tampered with, then verification fails",
        arguments: 1...SweepFixture.largestSize)
    func tamperedClaims(secondSize size: Int) throws {
        let secondSize = UInt64(size)
        let secondRoot = SweepFixture.referenceRoot(size)
        for first in 1...size {
            let firstSize = UInt64(first)
            let firstRoot = SweepFixture.referenceRoot(first)
            let proof = try SweepFixture.tree.consistencyProof(firstSize: firstSize, secondSize: secondSize)
            func accepts(
                firstSize: UInt64 = firstSize, secondSize: UInt64 = secondSize, firstRoot: [UInt8] = firstRoot,
                secondRoot: [UInt8] = secondRoot, proof: [[UInt8]] = proof
            ) -> Bool {
                MerkleVerification.isValidConsistency(
                    firstSize: firstSize, secondSize: secondSize, firstRoot: firstRoot, secondRoot: secondRoot,
                    proof: proof)
            }
            let claim = "\(first) to \(size)"
            #expect(accepts(), "\(claim): the honest claim")

            // A flipped byte anywhere in the proof or either root.
            for position in proof.indices {
                for byte in [0, 31] {
                    var wrong = proof
                    wrong[position] = flipped(proof[position], byte: byte)
                    #expect(!accepts(proof: wrong), "\(claim): proof[\(position)] byte \(byte) flipped")
                }
            }
            #expect(!accepts(firstRoot: flipped(firstRoot)), "\(claim): first root flipped")
            #expect(!accepts(secondRoot: flipped(secondRoot)), "\(claim): second root flipped")

            // Extra and missing hashes (an equal-size claim takes exactly the empty proof).
            #expect(!accepts(proof: proof + [secondRoot]), "\(claim): trailing root")
            #expect(!accepts(proof: proof + [[]]), "\(claim): trailing empty hash")
            #expect(!accepts(proof: [firstRoot] + proof), "\(claim): preceding first root")
            #expect(!accepts(proof: [[]] + proof), "\(claim): preceding empty hash")
            guard !proof.isEmpty else { continue }
            #expect(!accepts(proof: []), "\(claim): empty proof")
            #expect(!accepts(proof: Array(proof.dropLast())), "\(claim): last hash missing")
            #expect(!accepts(proof: Array(proof.dropFirst())), "\(claim): first hash missing")
            #expect(!accepts(proof: [proof[0]] + proof), "\(claim): first hash twice")
            #expect(!accepts(proof: proof + [proof[proof.count - 1]]), "\(claim): last hash twice")
            #expect(!accepts(firstRoot: secondRoot, secondRoot: firstRoot), "\(claim): roots swapped")

            // Wrong sizes with the claimed roots, as Certificate Transparency's verifier tests probe.
            #expect(!accepts(firstSize: firstSize - 1), "\(claim): first - 1")
            #expect(!accepts(firstSize: firstSize + 1), "\(claim): first + 1")
            #expect(!accepts(firstSize: firstSize ^ 2), "\(claim): first ^ 2")
            #expect(!accepts(secondSize: secondSize * 2), "\(claim): second * 2")
            #expect(!accepts(secondSize: secondSize / 2), "\(claim): second / 2")

            // Neighbouring sizes with their own roots verify only where the RFC's proof is the same.
            for (otherFirst, otherSecond) in [
                (first - 1, size), (first + 1, size), (first, size - 1), (first, size + 1),
            ]
            where otherFirst <= otherSecond && otherSecond <= SweepFixture.largestSize {
                let sameProof =
                    otherFirst >= 1
                    && SweepFixture.referenceProofs[otherSecond][otherFirst] == proof
                let accepted = accepts(
                    firstSize: UInt64(otherFirst), secondSize: UInt64(otherSecond),
                    firstRoot: SweepFixture.referenceRoot(otherFirst),
                    secondRoot: SweepFixture.referenceRoot(otherSecond))
                #expect(accepted == sameProof, "\(claim): checked as \(otherFirst) to \(otherSecond)")
            }
        }
    }

    @Test("Given sizes outside 1...second, then verification fails whatever the proof")
    func sizesOutOfRange() {
        let root = SweepFixture.referenceRoot(3)
        let empty = SweepFixture.referenceRoot(0)
        // The empty tree has no consistency proof, as consistencyProof refuses to make one.
        #expect(
            !MerkleVerification.isValidConsistency(
                firstSize: 0, secondSize: 3, firstRoot: empty, secondRoot: root, proof: []))
        #expect(
            !MerkleVerification.isValidConsistency(
                firstSize: 0, secondSize: 0, firstRoot: empty, secondRoot: empty, proof: []))
        // Time travel to the past.
        #expect(
            !MerkleVerification.isValidConsistency(
                firstSize: 3, secondSize: 2, firstRoot: root, secondRoot: root, proof: []))
        // Equal sizes with different roots: the log forked.
        #expect(
            !MerkleVerification.isValidConsistency(
                firstSize: 3, secondSize: 3, firstRoot: root, secondRoot: SweepFixture.referenceRoot(4), proof: []))
        // Hashes of the wrong length.
        #expect(
            !MerkleVerification.isValidConsistency(
                firstSize: 1, secondSize: 1, firstRoot: [], secondRoot: [], proof: []))
    }
}
