import LedgerCrypto
import Testing

/// One AES-256-GCM known answer from the GCM specification (McGrew and Viega, test cases 13 to 16).
struct GCMVector: Sendable, CustomTestStringConvertible {
    let name: String
    let key: [UInt8]
    let nonce: [UInt8]
    let plaintext: [UInt8]
    let aad: [UInt8]
    let ciphertext: [UInt8]
    let tag: [UInt8]

    var testDescription: String { name }

    static let specKey = bytes("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
    static let specPlaintext = bytes(
        """
        d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
        1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255
        """)
    static let specCiphertext = bytes(
        """
        522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
        8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad
        """)

    static let all: [GCMVector] = [
        GCMVector(
            name: "test case 13: zero key, nothing to encrypt", key: [UInt8](repeating: 0, count: 32),
            nonce: [UInt8](repeating: 0, count: 12), plaintext: [], aad: [], ciphertext: [],
            tag: bytes("530f8afbc74536b9a963b4f1c4cb738b")),
        GCMVector(
            name: "test case 14: zero key, one zero block", key: [UInt8](repeating: 0, count: 32),
            nonce: [UInt8](repeating: 0, count: 12), plaintext: [UInt8](repeating: 0, count: 16), aad: [],
            ciphertext: bytes("cea7403d4d606b6e074ec5d3baf39d18"), tag: bytes("d0d1c8a799996bf0265b98b5d48ab919")),
        GCMVector(
            name: "test case 15: four blocks", key: specKey, nonce: bytes("cafebabefacedbaddecaf888"),
            plaintext: specPlaintext, aad: [], ciphertext: specCiphertext,
            tag: bytes("b094dac5d93471bdec1a502270e3cc6c")),
        GCMVector(
            name: "test case 16: a partial last block and authenticated data", key: specKey,
            nonce: bytes("cafebabefacedbaddecaf888"), plaintext: Array(specPlaintext.prefix(60)),
            aad: bytes("feedfacedeadbeeffeedfacedeadbeefabaddad2"), ciphertext: Array(specCiphertext.prefix(60)),
            tag: bytes("76fc6ece0f4e1768cddf8853bb2d551b")),
    ]
}

/// AES-256-GCM, which keeps record content secret at rest and wraps data keys.
@Suite("AES-256-GCM")
struct AES256GCMTests {
    @Test("sealing gives the specification's ciphertext followed by its tag", arguments: GCMVector.all)
    func seal(vector: GCMVector) throws {
        let cipher = try AES256GCM(key: vector.key)
        #expect(
            cipher.seal(vector.plaintext, nonce: vector.nonce, authenticating: vector.aad) == vector.ciphertext
                + vector.tag)
        vector.plaintext.withUnsafeBytes { plaintext in
            #expect(
                cipher.seal(plaintext, nonce: vector.nonce, authenticating: vector.aad) == vector.ciphertext
                    + vector.tag)
        }
    }

    @Test("opening the specification's ciphertext and tag gives the plaintext", arguments: GCMVector.all)
    func open(vector: GCMVector) throws {
        let cipher = try AES256GCM(key: vector.key)
        let sealed = vector.ciphertext + vector.tag
        #expect(try cipher.open(sealed, nonce: vector.nonce, authenticating: vector.aad) == vector.plaintext)
        let openedInPlace = try sealed.withUnsafeBytes { (sealed) throws(AES256GCM.AuthenticationFailure) in
            try cipher.open(sealed, nonce: vector.nonce, authenticating: vector.aad)
        }
        #expect(openedInPlace == vector.plaintext)
    }

    @Test(
        "a flipped bit anywhere in ciphertext or tag, or other authenticated data, fails to open",
        arguments: GCMVector.all)
    func tampering(vector: GCMVector) throws {
        let cipher = try AES256GCM(key: vector.key)
        let sealed = vector.ciphertext + vector.tag
        for bit in stride(from: 0, to: sealed.count * 8, by: 37) {
            #expect(throws: AES256GCM.AuthenticationFailure()) {
                try cipher.open(flippingBit(bit, of: sealed), nonce: vector.nonce, authenticating: vector.aad)
            }
        }
        #expect(throws: AES256GCM.AuthenticationFailure()) {
            try cipher.open(sealed, nonce: vector.nonce, authenticating: vector.aad + [0])
        }
        #expect(throws: AES256GCM.AuthenticationFailure()) {
            try cipher.open(sealed, nonce: flippingBit(0, of: vector.nonce), authenticating: vector.aad)
        }
        let otherKey = try AES256GCM(key: flippingBit(255, of: vector.key))
        #expect(throws: AES256GCM.AuthenticationFailure()) {
            try otherKey.open(sealed, nonce: vector.nonce, authenticating: vector.aad)
        }
    }

    @Test("input shorter than a tag, a cut-off tag or a nonce of the wrong length fails to open")
    func malformedInput() throws {
        let cipher = try AES256GCM(key: [UInt8](repeating: 7, count: 32))
        let nonce = [UInt8](repeating: 1, count: 12)
        let sealed = cipher.seal(Array("lab result".utf8), nonce: nonce)
        #expect(throws: AES256GCM.AuthenticationFailure()) { try cipher.open([], nonce: nonce) }
        #expect(throws: AES256GCM.AuthenticationFailure()) { try cipher.open(Array(sealed.prefix(15)), nonce: nonce) }
        #expect(throws: AES256GCM.AuthenticationFailure()) { try cipher.open(Array(sealed.dropLast()), nonce: nonce) }
        #expect(throws: AES256GCM.AuthenticationFailure()) { try cipher.open(sealed, nonce: nonce + [0]) }
    }

    @Test("a record chunk of 1 MiB and one of an odd size round-trip")
    func largeChunks() throws {
        let cipher = try AES256GCM(key: SecureRandom.bytes(AES256GCM.keyByteCount))
        for count in [1 << 20, (1 << 20) + 13] {
            let record = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let nonce = SecureRandom.bytes(AES256GCM.nonceByteCount)
            let sealed = cipher.seal(record, nonce: nonce, authenticating: Array("record-id".utf8))
            #expect(sealed.count == count + AES256GCM.tagByteCount)
            #expect(try cipher.open(sealed, nonce: nonce, authenticating: Array("record-id".utf8)) == record)
        }
    }

    @Test("keys must be 32 bytes")
    func keyLength() {
        #expect(
            thrownDescription { _ = try AES256GCM(key: [UInt8](repeating: 0, count: 16)) }
                == "AES-256-GCM key must be 32 bytes, got 16")
    }
}
