import LedgerCrypto
import Testing

/// SHA-256, the hash behind key ids, principal ids, Merkle leaves and record contents (FIPS 180-4 vectors).
@Suite("SHA-256")
struct SHA256Tests {
    @Test("\"abc\" hashes to the FIPS 180-4 example digest")
    func abc() {
        #expect(
            SHA256.hash(Array("abc".utf8))
                == bytes("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
    }

    @Test("the empty message hashes to the well-known empty digest")
    func empty() {
        #expect(SHA256.hash([]) == bytes("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))
    }

    @Test("the two-block FIPS 180-4 example hashes the same in one piece and in uneven pieces")
    func twoBlocks() {
        let message = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        let digest = bytes("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hash(message) == digest)
        #expect(SHA256.hash(message[...]) == digest)
        var hasher = SHA256Hasher()
        hasher.update(message[0..<1])
        hasher.update(message[1..<30])
        hasher.update(Array(message[30...]))
        #expect(hasher.finalize() == digest)
    }

    @Test("a million 'a's, fed in 1000-byte pieces as an upload arrives, give the FIPS 180-4 digest")
    func millionA() {
        let piece = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        var hasher = SHA256Hasher()
        for _ in 0..<1000 { hasher.update(piece) }
        #expect(hasher.finalize() == bytes("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"))
    }

    @Test("hashing into a caller's buffer gives the same digests and writes only its first 32 bytes")
    func intoBuffer() {
        var digest = [UInt8](repeating: 0xAA, count: 40)
        digest.withUnsafeMutableBytes { digest in
            Array("abc".utf8).withUnsafeBytes { SHA256.hash($0, into: digest) }
        }
        #expect(digest[..<32] == bytes("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")[...])
        #expect(digest[32...] == [UInt8](repeating: 0xAA, count: 8)[...])
        digest.withUnsafeMutableBytes { SHA256.hash(UnsafeRawBufferPointer(start: nil, count: 0), into: $0) }
        #expect(Array(digest[..<32]) == SHA256.hash([]))
    }

    @Test("a hasher given nothing gives the empty digest")
    func emptyHasher() {
        let hasher = SHA256Hasher()
        #expect(hasher.finalize() == SHA256.hash([]))
    }
}
