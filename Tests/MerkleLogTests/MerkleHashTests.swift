@testable import MerkleLog
import Testing

@Suite("Leaf and node hashes")
struct MerkleHashTests {
    @Test(
        "Given an entry, then its leaf hash is SHA-256 of 0x00 and the entry, from an array or a raw buffer",
        arguments: [0, 1, 31, 64, 1023, 1024, 1025, 100_000])
    func leafHash(length: Int) {
        let entry = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let expected = ReferenceMerkleTree.leafHash(entry)
        #expect(MerkleHash.leaf(entry) == expected)
        #expect(entry.withUnsafeBytes { MerkleHash.leaf($0) } == expected)
    }

    @Test("Given two child hashes, then the node hash is SHA-256 of 0x01, left and right, and depends on their order")
    func nodeHash() {
        let left = ReferenceMerkleTree.leafHash(Array("left".utf8))
        let right = ReferenceMerkleTree.leafHash(Array("right".utf8))
        #expect(MerkleHash.node(left, right) == ReferenceMerkleTree.nodeHash(left, right))
        #expect(MerkleHash.node(left, right) != MerkleHash.node(right, left))
        // Domain separation: a node is not the leaf of its children's concatenation.
        #expect(MerkleHash.node(left, right) != MerkleHash.leaf(left + right))
    }

    @Test("Given two child hashes, when the node is hashed into the buffer of either child, then it is the reference")
    func nodeHashInPlace() {
        let left = ReferenceMerkleTree.leafHash(Array("left".utf8))
        let right = ReferenceMerkleTree.leafHash(Array("right".utf8))
        let expected = ReferenceMerkleTree.nodeHash(left, right)
        var intoLeft = left
        intoLeft.withUnsafeMutableBytes { digest in
            right.withUnsafeBytes { MerkleHash.node(UnsafeRawBufferPointer(digest), $0, into: digest) }
        }
        #expect(intoLeft == expected)
        var intoRight = right
        intoRight.withUnsafeMutableBytes { digest in
            left.withUnsafeBytes { MerkleHash.node($0, UnsafeRawBufferPointer(digest), into: digest) }
        }
        #expect(intoRight == expected)
        var pairDigest = [UInt8](repeating: 0, count: 32)
        pairDigest.withUnsafeMutableBytes { digest in
            (left + right).withUnsafeBytes { MerkleHash.node(children: $0, into: digest) }
        }
        #expect(pairDigest == expected)
    }

    @Test("Given a one-leaf block, then its root is the leaf hash itself")
    func singleLeafBlock() {
        let leaf = MerkleHash.leaf(Array("only".utf8))
        #expect(MerkleHash.root(ofLeafHashes: [leaf]) == leaf)
    }
}
