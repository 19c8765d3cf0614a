/// RFC 9162 Merkle log: leaf and node hashes, tree roots, inclusion and consistency proofs and their verification.
public enum MerkleLogModule {}
