import LedgerCrypto
import Testing

/// One RFC 8032 section 7.1 test: a seed, its public key, a message and the signature Ed25519 must produce.
struct Ed25519Vector: Sendable, CustomTestStringConvertible {
    let name: String
    let seed: [UInt8]
    let publicKey: [UInt8]
    let message: [UInt8]
    let signature: [UInt8]

    var testDescription: String { name }

    static let rfc8032: [Ed25519Vector] = [
        Ed25519Vector(
            name: "RFC 8032 test 1 (empty message)",
            seed: bytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
            publicKey: bytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"),
            message: [],
            signature: bytes(
                """
                e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155
                5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b
                """)),
        Ed25519Vector(
            name: "RFC 8032 test 2 (one byte)",
            seed: bytes("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"),
            publicKey: bytes("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"),
            message: bytes("72"),
            signature: bytes(
                """
                92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da
                085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00
                """)),
        Ed25519Vector(
            name: "RFC 8032 test 3 (two bytes)",
            seed: bytes("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7"),
            publicKey: bytes("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025"),
            message: bytes("af82"),
            signature: bytes(
                """
                6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac
                18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a
                """)),
    ]
}

/// The same bytes with one bit flipped.
func flippingBit(_ bit: Int, of bytes: [UInt8]) -> [UInt8] {
    var flipped = bytes
    flipped[bit / 8] ^= 1 << UInt8(bit % 8)
    return flipped
}

/// Ed25519 keys as patients' phones and the node hold them (RFC 8032).
@Suite("Ed25519 signing keys")
struct Ed25519SigningKeyTests {
    @Test("a seed gives the RFC's public key and exact signature, which verifies", arguments: Ed25519Vector.rfc8032)
    func rfc8032(vector: Ed25519Vector) throws {
        let privateKey = try SigningPrivateKey(algorithm: .ed25519, rawBytes: vector.seed)
        #expect(privateKey.algorithm == .ed25519)
        #expect(privateKey.rawBytes == vector.seed)
        #expect(privateKey.publicKey.rawBytes == vector.publicKey)
        #expect(privateKey.signature(for: vector.message) == vector.signature)

        let publicKey = try SigningPublicKey(algorithm: .ed25519, rawBytes: vector.publicKey)
        #expect(publicKey == privateKey.publicKey)
        #expect(publicKey.isValidSignature(vector.signature, for: vector.message))
        vector.message.withUnsafeBytes { message in
            #expect(publicKey.isValidSignature(vector.signature, for: message))
        }
    }

    @Test("a signature with any one bit flipped, in R or in S, does not verify", arguments: Ed25519Vector.rfc8032)
    func flippedSignatureBit(vector: Ed25519Vector) throws {
        let publicKey = try SigningPublicKey(algorithm: .ed25519, rawBytes: vector.publicKey)
        for bit in [0, 7, 100, 255, 256, 300, 511] {
            #expect(!publicKey.isValidSignature(flippingBit(bit, of: vector.signature), for: vector.message))
        }
    }

    @Test("a signature does not verify for a changed message or under another key", arguments: Ed25519Vector.rfc8032)
    func otherMessageOrKey(vector: Ed25519Vector) throws {
        let publicKey = try SigningPublicKey(algorithm: .ed25519, rawBytes: vector.publicKey)
        #expect(!publicKey.isValidSignature(vector.signature, for: vector.message + [0]))
        let stranger = SigningPrivateKey.generate(.ed25519).publicKey
        #expect(!stranger.isValidSignature(vector.signature, for: vector.message))
    }

    @Test("signatures of any length but 64 bytes are simply invalid")
    func wrongSignatureLength() throws {
        let vector = Ed25519Vector.rfc8032[1]
        let publicKey = try SigningPublicKey(algorithm: .ed25519, rawBytes: vector.publicKey)
        for signature in [[], Array(vector.signature.dropLast()), vector.signature + [0]] {
            #expect(!publicKey.isValidSignature(signature, for: vector.message))
        }
    }

    @Test("a generated key signs, and only its public key accepts the signature")
    func generated() {
        let clinician = SigningPrivateKey.generate(.ed25519)
        let message = Array("grant labs to the clinician".utf8)
        let signature = clinician.signature(for: message)
        #expect(signature.count == 64)
        #expect(clinician.rawBytes.count == 32)
        #expect(clinician.publicKey.isValidSignature(signature, for: message))
        #expect(SigningPrivateKey.generate(.ed25519).publicKey != clinician.publicKey)
    }

    @Test("the key id is the hex SHA-256 of the raw key (identity.proto's worked example)")
    func keyID() throws {
        let key = try SigningPublicKey(
            algorithm: .ed25519, rawBytes: bytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
        #expect(key.keyID == "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9")
    }

    @Test(
        "public keys that cannot verify anything are refused with a one-line reason",
        arguments: [
            (
                "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f70751",
                "Ed25519 public key must be 32 bytes, got 31"
            ),
            ("", "Ed25519 public key must be 32 bytes, got 0"),
            (
                "0200000000000000000000000000000000000000000000000000000000000000",
                "Ed25519 public key is not a point on the curve"
            ),
            (
                "0100000000000000000000000000000000000000000000000000000000000000",
                "Ed25519 public key is a small-order point"
            ),
            (
                "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
                "Ed25519 public key is a small-order point"
            ),
            (
                "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
                "Ed25519 public key is not a canonical point encoding (y >= 2^255 - 19)"
            ),
        ])
    func unusablePublicKey(hex: String, reason: String) {
        #expect(
            thrownDescription { _ = try SigningPublicKey(algorithm: .ed25519, rawBytes: bytes(hex)) }
                == reason)
    }

    @Test(
        "a y coordinate is a key exactly when the curve has a point with it",
        arguments: [(3, true), (4, true), (18, true), (2, false), (7, false), (11, false)])
    func onCurve(y: UInt8, isPoint: Bool) {
        let encoded = [y] + [UInt8](repeating: 0, count: 31)
        let accepted = (try? SigningPublicKey(algorithm: .ed25519, rawBytes: encoded)) != nil
        #expect(accepted == isPoint)
    }

    @Test("private keys must be 32-byte seeds")
    func wrongSeedLength() {
        #expect(
            thrownDescription {
                _ = try SigningPrivateKey(algorithm: .ed25519, rawBytes: [UInt8](repeating: 1, count: 64))
            }
                == "Ed25519 private key must be 32 bytes, got 64")
    }

    @Test("many tasks verify with one parsed key at the same time")
    func concurrentVerification() async throws {
        let vector = Ed25519Vector.rfc8032[2]
        let publicKey = try SigningPublicKey(algorithm: .ed25519, rawBytes: vector.publicKey)
        let forged = flippingBit(3, of: vector.signature)
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    (0..<50).allSatisfy { _ in
                        publicKey.isValidSignature(vector.signature, for: vector.message)
                            && !publicKey.isValidSignature(forged, for: vector.message)
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results == [Bool](repeating: true, count: 8))
    }
}

/// ECDSA P-256 keys as phones' secure enclaves and WebCrypto hold them (FIPS 186-5, SHA-256).
@Suite("P-256 signing keys")
struct P256SigningKeyTests {
    /// RFC 6979 appendix A.2.5: the private scalar and its public point.
    static let rfc6979Scalar = bytes("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721")
    static let rfc6979Point = bytes(
        """
        04 60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6
           7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299
        """)
    /// The generator G, a point every test can rely on.
    static let generator = bytes(
        """
        04 6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296
           4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5
        """)
    static let order = bytes("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")

    @Test("RFC 6979's private scalar gives its public point")
    func rfc6979KeyPair() throws {
        let privateKey = try SigningPrivateKey(algorithm: .ecdsaP256, rawBytes: Self.rfc6979Scalar)
        #expect(privateKey.rawBytes == Self.rfc6979Scalar)
        #expect(privateKey.publicKey.rawBytes == Self.rfc6979Point)
        #expect(privateKey.publicKey.algorithm == .ecdsaP256)
    }

    @Test("RFC 6979's signatures of \"sample\" (high S) and \"test\" (low S) verify as r || s")
    func rfc6979Signatures() throws {
        let publicKey = try SigningPublicKey(algorithm: .ecdsaP256, rawBytes: Self.rfc6979Point)
        let sample = bytes(
            """
            efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716
            f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8
            """)
        let test = bytes(
            """
            f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367
            019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083
            """)
        #expect(publicKey.isValidSignature(sample, for: Array("sample".utf8)))
        #expect(publicKey.isValidSignature(test, for: Array("test".utf8)))
        #expect(!publicKey.isValidSignature(sample, for: Array("test".utf8)))
        #expect(!publicKey.isValidSignature(flippingBit(9, of: sample), for: Array("sample".utf8)))
        #expect(!publicKey.isValidSignature(flippingBit(300, of: sample), for: Array("sample".utf8)))
    }

    @Test("the low-S twin (r, n - s) of a high-S signature verifies too")
    func lowSTwin() throws {
        let publicKey = try SigningPublicKey(algorithm: .ecdsaP256, rawBytes: Self.rfc6979Point)
        let s = bytes("f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8")
        let r = bytes("efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716")
        #expect(publicKey.isValidSignature(r + subtract(s, from: Self.order), for: Array("sample".utf8)))
    }

    @Test("a generated key signs 64-byte r || s signatures that only its public key accepts")
    func roundTrip() {
        let device = SigningPrivateKey.generate(.ecdsaP256)
        #expect(device.rawBytes.count == 32)
        #expect(device.publicKey.rawBytes.count == 65 && device.publicKey.rawBytes[0] == 0x04)
        for length in [0, 1, 55, 64, 1000] {
            let message = [UInt8](repeating: UInt8(length & 0xff), count: length)
            let signature = device.signature(for: message)
            #expect(signature.count == 64)
            #expect(device.publicKey.isValidSignature(signature, for: message))
            #expect(!device.publicKey.isValidSignature(signature, for: message + [1]))
            #expect(!SigningPrivateKey.generate(.ecdsaP256).publicKey.isValidSignature(signature, for: message))
        }
    }

    @Test("signatures of the wrong length, DER signatures and all-zero r || s are invalid")
    func malformedSignatures() {
        let device = SigningPrivateKey.generate(.ecdsaP256)
        let message = Array("consent".utf8)
        let signature = device.signature(for: message)
        #expect(!device.publicKey.isValidSignature(Array(signature.dropLast()), for: message))
        #expect(!device.publicKey.isValidSignature(signature + [0], for: message))
        #expect(!device.publicKey.isValidSignature([], for: message))
        #expect(!device.publicKey.isValidSignature([UInt8](repeating: 0, count: 64), for: message))
        #expect(!device.publicKey.isValidSignature([UInt8](repeating: 0xff, count: 64), for: message))
    }

    @Test(
        "public keys that are not uncompressed points on the curve are refused with a one-line reason",
        arguments: [
            (
                String(Hex.encode(generator.dropLast())),
                "P-256 public key must be 65 bytes (0x04 || X || Y), got 64"
            ),
            (
                "02" + String(Hex.encode(generator.dropFirst()).prefix(64)),
                "P-256 public key must be 65 bytes (0x04 || X || Y), got 33"
            ),
            (
                "06" + Hex.encode(generator.dropFirst()),
                "P-256 public key must be an uncompressed point starting with 0x04, got 0x06"
            ),
            (Hex.encode(generator.dropLast()) + "f6", "P-256 public key is not a point on the curve"),
            ("04" + String(repeating: "00", count: 64), "P-256 public key is not a point on the curve"),
            (
                // x = p, which reduces to 0: not a field element at all.
                "04ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"
                    + Hex.encode(generator.suffix(32)),
                "P-256 public key is not a point on the curve"
            ),
        ])
    func unusablePublicKey(hex: String, reason: String) {
        #expect(
            thrownDescription { _ = try SigningPublicKey(algorithm: .ecdsaP256, rawBytes: bytes(hex)) }
                == reason)
    }

    @Test("the generator itself is a fine public key")
    func generatorIsAKey() throws {
        let key = try SigningPublicKey(algorithm: .ecdsaP256, rawBytes: Self.generator)
        #expect(key.keyID.count == 64)
    }

    @Test(
        "private scalars outside 1...n-1 are refused",
        arguments: [
            "0000000000000000000000000000000000000000000000000000000000000000",
            "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
            "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632552",
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        ])
    func scalarOutOfRange(hex: String) {
        #expect(
            thrownDescription { _ = try SigningPrivateKey(algorithm: .ecdsaP256, rawBytes: bytes(hex)) }
                == "P-256 private key must be in the range 1...n-1 of the curve order")
    }

    @Test("the smallest and largest scalars, 1 and n - 1, are keys (1 gives the generator)")
    func scalarBounds() throws {
        let one = try SigningPrivateKey(algorithm: .ecdsaP256, rawBytes: [UInt8](repeating: 0, count: 31) + [1])
        #expect(one.publicKey.rawBytes == Self.generator)
        let last = try SigningPrivateKey(algorithm: .ecdsaP256, rawBytes: subtract([1], from: Self.order))
        let message = Array("edge".utf8)
        #expect(last.publicKey.isValidSignature(last.signature(for: message), for: message))
    }

    @Test("private keys must be 32 bytes")
    func wrongScalarLength() {
        #expect(
            thrownDescription {
                _ = try SigningPrivateKey(algorithm: .ecdsaP256, rawBytes: [UInt8](repeating: 1, count: 31))
            }
                == "P-256 private key must be 32 bytes, got 31")
    }

    @Test("keys are equal and hash alike exactly when algorithm and raw bytes are")
    func equality() throws {
        let a = try SigningPublicKey(algorithm: .ecdsaP256, rawBytes: Self.generator)
        let b = try SigningPublicKey(algorithm: .ecdsaP256, rawBytes: Self.generator)
        let c = try SigningPublicKey(algorithm: .ecdsaP256, rawBytes: Self.rfc6979Point)
        #expect(a == b && a.hashValue == b.hashValue)
        #expect(a != c)
        #expect(Set([a, b, c]).count == 2)
    }

    /// `a - b` for big-endian numbers with a >= b, left-padded to a's length.
    func subtract(_ b: [UInt8], from a: [UInt8]) -> [UInt8] {
        let b = [UInt8](repeating: 0, count: a.count - b.count) + b
        var result = [UInt8](repeating: 0, count: a.count)
        var borrow = 0
        for index in (0..<a.count).reversed() {
            var difference = Int(a[index]) - Int(b[index]) - borrow
            borrow = difference < 0 ? 1 : 0
            if difference < 0 { difference += 256 }
            result[index] = UInt8(difference)
        }
        return result
    }
}
