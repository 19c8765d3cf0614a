import LedgerCrypto

/// Leaf and interior node hashes of RFC 9162 section 2.1.1.
public enum MerkleHash {
    /// Number of bytes in every hash of the tree (SHA-256, RFC 9162 section 2.1.1).
    public static let byteCount = 32

    /// The hash of a leaf holding `entry`: SHA-256(0x00 || entry).
    public static func leaf(_ entry: [UInt8]) -> [UInt8] {
        entry.withUnsafeBytes { leaf($0) }
    }

    /// The hash of a leaf holding the bytes in `entry`: SHA-256(0x00 || entry).
    public static func leaf(_ entry: UnsafeRawBufferPointer) -> [UInt8] {
        // Small entries are prefixed in a stack buffer and hashed in one call; large ones stream through a hasher
        // rather than being copied.
        if entry.count <= 1024 {
            return withUnsafeTemporaryAllocation(byteCount: entry.count + 1, alignment: 1) { input in
                input[0] = 0x00
                UnsafeMutableRawBufferPointer(rebasing: input[1...]).copyMemory(from: entry)
                return SHA256.hash(UnsafeRawBufferPointer(input))
            }
        }
        var hasher = SHA256Hasher()
        withUnsafeBytes(of: UInt8(0x00)) { hasher.update($0) }
        hasher.update(entry)
        return hasher.finalize()
    }

    /// The hash of an interior node over its children's hashes: SHA-256(0x01 || left || right).
    public static func node(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        left.withUnsafeBytes { left in right.withUnsafeBytes { right in node(left, right) } }
    }

    /// SHA-256 of the empty string: the root hash of the empty tree (RFC 9162 section 2.1.1).
    public static let emptyTreeRoot: [UInt8] = SHA256.hash([])

    /// MTH over a list of leaf hashes (e.g. one block's entries).
    public static func root(ofLeafHashes leafHashes: some RandomAccessCollection<[UInt8]>) -> [UInt8] {
        // The stack holds the complete subtrees of the leaves seen so far, largest first, as 32-byte hashes end to
        // end; `heights[i]` is log2 of the leaf count of the i-th. Two equal-height neighbours merge as they arise,
        // and MTH is the right fold of what remains (RFC 9162 section 2.1.1 splits at the largest power of two).
        var stack: [UInt8] = []
        var heights: [Int] = []
        stack.reserveCapacity(64 * byteCount)
        for leafHash in leafHashes {
            precondition(leafHash.count == byteCount, "a leaf hash has \(byteCount) bytes, not \(leafHash.count)")
            stack.append(contentsOf: leafHash)
            heights.append(0)
            while heights.count >= 2, heights[heights.count - 1] == heights[heights.count - 2] {
                mergeTopTwo(&stack)
                heights.removeLast()
                heights[heights.count - 1] += 1
            }
        }
        guard !heights.isEmpty else { return emptyTreeRoot }
        for _ in 1..<heights.count { mergeTopTwo(&stack) }
        return stack
    }

    /// Replaces the last two hashes of `stack` by the node over them.
    private static func mergeTopTwo(_ stack: inout [UInt8]) {
        let parent = stack.withUnsafeBytes {
            node(children: UnsafeRawBufferPointer(rebasing: $0[($0.count - 2 * byteCount)...]))
        }
        stack.removeLast(2 * byteCount)
        stack.append(contentsOf: parent)
    }

    /// SHA-256(0x01 || left || right) without intermediate arrays.
    static func node(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> [UInt8] {
        withUnsafeTemporaryAllocation(byteCount: 1 + left.count + right.count, alignment: 1) { input in
            input[0] = 0x01
            UnsafeMutableRawBufferPointer(rebasing: input[1...]).copyMemory(from: left)
            UnsafeMutableRawBufferPointer(rebasing: input[(1 + left.count)...]).copyMemory(from: right)
            return SHA256.hash(UnsafeRawBufferPointer(input))
        }
    }

    /// SHA-256(0x01 || children) where `children` is the left hash followed by the right one, as siblings lie in a
    /// level buffer.
    static func node(children: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: byteCount) { digest, count in
            node(children: children, into: UnsafeMutableRawBufferPointer(digest))
            count = byteCount
        }
    }

    /// Writes SHA-256(0x01 || left || right) to `digest` (the hashes are 32 bytes each; `digest` may be either of
    /// them): nothing is allocated, for the proof paths that hash on every request.
    static func node(
        _ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer, into digest: UnsafeMutableRawBufferPointer
    ) {
        withUnsafeTemporaryAllocation(byteCount: 1 + 2 * byteCount, alignment: 1) { input in
            input[0] = 0x01
            UnsafeMutableRawBufferPointer(rebasing: input[1...]).copyMemory(from: left)
            UnsafeMutableRawBufferPointer(rebasing: input[(1 + byteCount)...]).copyMemory(from: right)
            SHA256.hash(UnsafeRawBufferPointer(input), into: digest)
        }
    }

    /// Writes SHA-256(0x01 || children) to `digest`, `children` being two hashes end to end.
    static func node(children: UnsafeRawBufferPointer, into digest: UnsafeMutableRawBufferPointer) {
        withUnsafeTemporaryAllocation(byteCount: 1 + 2 * byteCount, alignment: 1) { input in
            input[0] = 0x01
            UnsafeMutableRawBufferPointer(rebasing: input[1...]).copyMemory(from: children)
            SHA256.hash(UnsafeRawBufferPointer(input), into: digest)
        }
    }
}
