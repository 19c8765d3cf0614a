import LedgerCrypto
import MerkleLog
import Testing

/// Certificate Transparency's reference tree: eight leaves, their roots at every size and a few proofs, from
/// google/certificate-transparency cpp/merkletree/merkle_tree_test.cc (kInputs, kSHA256Roots, kSHA256Paths,
/// kSHA256Proofs; commit 0e901cacd1388fa16f78b184612f6cd16e5ceec1), carried on in transparency-dev/merkle
/// proof/verify_test.go (commit 02194e9afb6c1d95b5381350007963aa70fff472), which adds the 6-to-7 consistency proof.
/// The hasher answers come from transparency-dev/merkle rfc6962/rfc6962_test.go
/// (commit 78493b07ef9b552e3379abf9e23d4da26fbe797c). Only the data is taken.
enum CertificateTransparencyVectors {
    static let entries: [[UInt8]] = [
        "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
    ].map(unhex)

    /// Root of the first i + 1 entries.
    static let roots: [[UInt8]] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ].map(unhex)

    static let emptyTreeRoot = unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

    /// An inclusion proof of the reference tree; the sources number leaves from 1, these from 0.
    struct InclusionVector: Sendable, CustomTestStringConvertible {
        let leafIndex: UInt64
        let treeSize: UInt64
        let proof: [[UInt8]]
        var testDescription: String { "leaf \(leafIndex) of \(treeSize)" }
    }

    static let inclusionProofs: [InclusionVector] = [
        InclusionVector(leafIndex: 0, treeSize: 1, proof: []),
        InclusionVector(
            leafIndex: 0, treeSize: 8,
            proof: [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ].map(unhex)),
        InclusionVector(
            leafIndex: 5, treeSize: 8,
            proof: [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ].map(unhex)),
        InclusionVector(
            leafIndex: 2, treeSize: 3,
            proof: ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"].map(unhex)),
        InclusionVector(
            leafIndex: 1, treeSize: 5,
            proof: [
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ].map(unhex)),
    ]

    /// A consistency proof of the reference tree.
    struct ConsistencyVector: Sendable, CustomTestStringConvertible {
        let firstSize: UInt64
        let secondSize: UInt64
        let proof: [[UInt8]]
        var testDescription: String { "\(firstSize) to \(secondSize)" }
    }

    static let consistencyProofs: [ConsistencyVector] = [
        ConsistencyVector(firstSize: 1, secondSize: 1, proof: []),
        ConsistencyVector(
            firstSize: 1, secondSize: 8,
            proof: [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ].map(unhex)),
        ConsistencyVector(
            firstSize: 6, secondSize: 8,
            proof: [
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ].map(unhex)),
        ConsistencyVector(
            firstSize: 2, secondSize: 5,
            proof: [
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ].map(unhex)),
        ConsistencyVector(
            firstSize: 6, secondSize: 7,
            proof: [
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ].map(unhex)),
    ]

    /// The reference tree, all eight entries appended.
    static let tree: MerkleTree = {
        var tree = MerkleTree()
        for entry in entries { tree.append(leafHash: MerkleHash.leaf(entry)) }
        return tree
    }()
}

@Suite("Known answers from Certificate Transparency's reference tree")
struct KnownAnswerTests {
    typealias Vectors = CertificateTransparencyVectors

    @Test("Given the empty tree, then its root is SHA-256 of the empty string")
    func emptyTreeRoot() throws {
        #expect(MerkleHash.emptyTreeRoot == Vectors.emptyTreeRoot)
        #expect(MerkleTree().rootHash == Vectors.emptyTreeRoot)
        #expect(try Vectors.tree.rootHash(size: 0) == Vectors.emptyTreeRoot)
        #expect(MerkleHash.root(ofLeafHashes: [[UInt8]]()) == Vectors.emptyTreeRoot)
    }

    @Test("Given the RFC 6962 hasher's answers, then leaf and node hashes agree with them")
    func hasherAnswers() {
        // The empty leaf is not the empty tree: the 0x00 prefix separates them.
        #expect(hex(MerkleHash.leaf([])) == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
        #expect(
            hex(MerkleHash.leaf(Array("L123456".utf8)))
                == "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
        #expect(
            hex(MerkleHash.node(Array("N123".utf8), Array("N456".utf8)))
                == "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb")
    }

    @Test("Given the eight entries appended one by one, then the root after each append is the published one")
    func rootsWhileGrowing() throws {
        var tree = MerkleTree()
        for (count, entry) in Vectors.entries.enumerated() {
            tree.append(leafHash: MerkleHash.leaf(entry))
            #expect(tree.size == UInt64(count + 1))
            #expect(hex(tree.rootHash) == hex(Vectors.roots[count]), "size \(count + 1)")
            // Every earlier size still answers its published root.
            for size in 1...(count + 1) {
                #expect(try tree.rootHash(size: UInt64(size)) == Vectors.roots[size - 1], "size \(size)")
            }
        }
        #expect(hex(tree.rootHash) == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
    }

    @Test("Given the eight leaf hashes of one block, then MTH over them is the published size-8 root")
    func blockRoot() {
        let leafHashes = Vectors.entries.map { MerkleHash.leaf($0) }
        for count in 1...8 {
            #expect(MerkleHash.root(ofLeafHashes: leafHashes[..<count]) == Vectors.roots[count - 1], "size \(count)")
        }
    }

    @Test(
        "Given the reference tree, then its inclusion proofs are the published ones and verify",
        arguments: Vectors.inclusionProofs)
    func inclusionProof(_ vector: Vectors.InclusionVector) throws {
        let proof = try Vectors.tree.inclusionProof(leafIndex: vector.leafIndex, treeSize: vector.treeSize)
        #expect(proof.map(hex) == vector.proof.map(hex))
        #expect(
            MerkleVerification.isValidInclusion(
                leafHash: MerkleHash.leaf(Vectors.entries[Int(vector.leafIndex)]), leafIndex: vector.leafIndex,
                treeSize: vector.treeSize, proof: vector.proof, rootHash: Vectors.roots[Int(vector.treeSize) - 1]))
    }

    @Test(
        "Given the reference tree, then its consistency proofs are the published ones and verify",
        arguments: Vectors.consistencyProofs)
    func consistencyProof(_ vector: Vectors.ConsistencyVector) throws {
        let proof = try Vectors.tree.consistencyProof(firstSize: vector.firstSize, secondSize: vector.secondSize)
        #expect(proof.map(hex) == vector.proof.map(hex))
        #expect(
            MerkleVerification.isValidConsistency(
                firstSize: vector.firstSize, secondSize: vector.secondSize,
                firstRoot: Vectors.roots[Int(vector.firstSize) - 1],
                secondRoot: Vectors.roots[Int(vector.secondSize) - 1], proof: vector.proof))
    }

    @Test(
        "Given a published inclusion proof, when a client checks it against a wrong leaf, index, size or root as CT's verifier tests do, then it fails",
        arguments: Vectors.inclusionProofs.dropFirst())
    func corruptedInclusionProbes(_ vector: Vectors.InclusionVector) {
        let leafHash = MerkleHash.leaf(Vectors.entries[Int(vector.leafIndex)])
        let root = Vectors.roots[Int(vector.treeSize) - 1]
        func accepts(
            leafHash: [UInt8] = leafHash, leafIndex: UInt64 = vector.leafIndex, treeSize: UInt64 = vector.treeSize,
            proof: [[UInt8]] = vector.proof, root: [UInt8] = root
        ) -> Bool {
            MerkleVerification.isValidInclusion(
                leafHash: leafHash, leafIndex: leafIndex, treeSize: treeSize, proof: proof, rootHash: root)
        }
        #expect(accepts())
        if vector.leafIndex > 0 { #expect(!accepts(leafIndex: vector.leafIndex - 1)) }
        #expect(!accepts(leafIndex: vector.leafIndex + 1))
        #expect(!accepts(leafIndex: vector.leafIndex ^ 2))
        #expect(!accepts(treeSize: vector.treeSize * 2))
        #expect(!accepts(treeSize: vector.treeSize / 2))
        #expect(!accepts(leafHash: MerkleHash.leaf(Array("WrongLeaf".utf8))))
        #expect(!accepts(root: Vectors.emptyTreeRoot))
        #expect(!accepts(proof: vector.proof + [root]))
        #expect(!accepts(proof: [root] + vector.proof))
        #expect(!accepts(proof: vector.proof + [[]]))
        #expect(!accepts(proof: [[]] + vector.proof))
        for position in vector.proof.indices {
            var wrong = vector.proof
            wrong[position] = Vectors.emptyTreeRoot
            #expect(!accepts(proof: wrong), "proof[\(position)] replaced")
        }
    }

    @Test(
        "Given a published consistency proof, when a client checks it with wrong sizes, roots or hashes as CT's verifier tests do, then it fails",
        arguments: Vectors.consistencyProofs.dropFirst())
    func corruptedConsistencyProbes(_ vector: Vectors.ConsistencyVector) {
        let firstRoot = Vectors.roots[Int(vector.firstSize) - 1]
        let secondRoot = Vectors.roots[Int(vector.secondSize) - 1]
        func accepts(
            firstSize: UInt64 = vector.firstSize, secondSize: UInt64 = vector.secondSize,
            firstRoot: [UInt8] = firstRoot, secondRoot: [UInt8] = secondRoot, proof: [[UInt8]] = vector.proof
        ) -> Bool {
            MerkleVerification.isValidConsistency(
                firstSize: firstSize, secondSize: secondSize, firstRoot: firstRoot, secondRoot: secondRoot,
                proof: proof)
        }
        #expect(accepts())
        #expect(!accepts(firstSize: vector.firstSize - 1))
        #expect(!accepts(firstSize: vector.firstSize + 1))
        #expect(!accepts(firstSize: vector.firstSize ^ 2))
        #expect(!accepts(secondSize: vector.secondSize * 2))
        #expect(!accepts(secondSize: vector.secondSize / 2))
        #expect(!accepts(firstRoot: MerkleHash.leaf(Array("WrongRoot".utf8))))
        #expect(!accepts(secondRoot: MerkleHash.leaf(Array("WrongRoot".utf8))))
        #expect(!accepts(firstRoot: secondRoot, secondRoot: firstRoot))
        #expect(!accepts(proof: []))
        #expect(!accepts(proof: vector.proof + [[]]))
        #expect(!accepts(proof: vector.proof + [vector.proof.last!]))
        #expect(!accepts(proof: Array(vector.proof.dropLast())))
        #expect(!accepts(proof: [[]] + vector.proof))
        #expect(!accepts(proof: [vector.proof[0]] + vector.proof))
        for position in vector.proof.indices {
            var wrong = vector.proof
            wrong[position] = Vectors.emptyTreeRoot
            #expect(!accepts(proof: wrong), "proof[\(position)] replaced")
        }
    }
}
