/// Proof checks of RFC 9162 sections 2.1.3.2 and 2.1.4.2, for clients that verify rather than trust.
public enum MerkleVerification {
    /// Whether `proof` shows the leaf with `leafHash` at `leafIndex` in the tree of `treeSize` leaves with
    /// `rootHash` (RFC 9162 section 2.1.3.2); false for any hash that is not 32 bytes.
    public static func isValidInclusion(
        leafHash: [UInt8], leafIndex: UInt64, treeSize: UInt64, proof: [[UInt8]], rootHash: [UInt8]
    ) -> Bool {
        guard isHash(leafHash), isHash(rootHash), proof.allSatisfy(isHash) else { return false }
        // 1. If leaf_index is greater than or equal to tree_size, then stop and fail the proof verification.
        guard leafIndex < treeSize else { return false }
        // 2. Set fn to leaf_index and sn to tree_size - 1.
        var fn = leafIndex
        var sn = treeSize - 1
        // 3. Set r to hash.
        var r = leafHash
        // 4. For each value p in the inclusion_path array:
        for p in proof {
            // a. If sn is 0, then stop the iteration and fail the proof verification.
            if sn == 0 { return false }
            // b. If LSB(fn) is set, or if fn is equal to sn, then:
            if fn & 1 == 1 || fn == sn {
                // i. Set r to HASH(0x01 || p || r).
                r = MerkleHash.node(p, r)
                // ii. If LSB(fn) is not set, then right-shift both fn and sn equally until either LSB(fn) is set
                //     or fn is 0.
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                // Otherwise: set r to HASH(0x01 || r || p).
                r = MerkleHash.node(r, p)
            }
            // c. Finally, right-shift both fn and sn one time.
            fn >>= 1
            sn >>= 1
        }
        // 5. Compare sn to 0. Compare r against the root_hash. If sn is equal to 0 and r and the root_hash are
        //    equal, then the log has proven the inclusion of hash. Otherwise, fail the proof verification.
        return sn == 0 && r == rootHash
    }

    /// Whether `proof` shows the tree of `secondSize` leaves with `secondRoot` extends the tree of `firstSize`
    /// leaves with `firstRoot` (RFC 9162 section 2.1.4.2). Sizes must satisfy 1 <= firstSize <= secondSize, as
    /// `MerkleTree.consistencyProof` does; equal sizes take an empty proof and equal roots. False for any hash that
    /// is not 32 bytes.
    public static func isValidConsistency(
        firstSize: UInt64, secondSize: UInt64, firstRoot: [UInt8], secondRoot: [UInt8], proof: [[UInt8]]
    ) -> Bool {
        guard isHash(firstRoot), isHash(secondRoot), proof.allSatisfy(isHash) else { return false }
        guard firstSize >= 1, firstSize <= secondSize else { return false }
        // The RFC's algorithm covers 0 < first < second; a tree is consistent with itself by the empty proof
        // that PROOF(m, D[m]) = SUBPROOF(m, D[m], true) produces.
        if firstSize == secondSize { return proof.isEmpty && firstRoot == secondRoot }
        // 1. If consistency_path is an empty array, stop and fail the proof verification.
        guard let head = proof.first else { return false }
        // 2. If first is an exact power of 2, then prepend first_hash to the consistency_path array.
        let firstIsPowerOfTwo = firstSize & (firstSize - 1) == 0
        let start = firstIsPowerOfTwo ? firstRoot : head
        let rest = firstIsPowerOfTwo ? proof[...] : proof.dropFirst()
        // 3. Set fn to first - 1 and sn to second - 1.
        var fn = firstSize - 1
        var sn = secondSize - 1
        // 4. If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is not set.
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        // 5. Set both fr and sr to the first value in the consistency_path array.
        var fr = start
        var sr = start
        // 6. For each subsequent value c in the consistency_path array:
        for c in rest {
            // a. If sn is 0, then stop the iteration and fail the proof verification.
            if sn == 0 { return false }
            // b. If LSB(fn) is set, or if fn is equal to sn, then:
            if fn & 1 == 1 || fn == sn {
                // i. Set fr to HASH(0x01 || c || fr). Set sr to HASH(0x01 || c || sr).
                fr = MerkleHash.node(c, fr)
                sr = MerkleHash.node(c, sr)
                // ii. If LSB(fn) is not set, then right-shift both fn and sn equally until either LSB(fn) is set
                //     or fn is 0.
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                // Otherwise: set sr to HASH(0x01 || sr || c).
                sr = MerkleHash.node(sr, c)
            }
            // c. Finally, right-shift both fn and sn one time.
            fn >>= 1
            sn >>= 1
        }
        // 7. After completing iterating through the consistency_path array as described above, verify that the fr
        //    calculated is equal to the first_hash supplied, that the sr calculated is equal to the second_hash
        //    supplied, and that sn is 0.
        return fr == firstRoot && sr == secondRoot && sn == 0
    }

    /// Whether `bytes` has the length of a tree hash.
    private static func isHash(_ bytes: [UInt8]) -> Bool {
        bytes.count == MerkleHash.byteCount
    }
}
