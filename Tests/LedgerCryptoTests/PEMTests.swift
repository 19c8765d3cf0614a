import LedgerCrypto
import Testing

/// Private keys in PEM files, as an operator keeps the node's key and as `openssl` writes them.
@Suite("PEM private keys")
struct PEMTests {
    /// `openssl genpkey -algorithm ed25519`, generated once.
    static let opensslEd25519 = """
        -----BEGIN PRIVATE KEY-----
        MC4CAQAwBQYDK2VwBCIEIL0yxihXU6SC3h7uBjqU2C3HKunHx+gCK00/yQQuAAiV
        -----END PRIVATE KEY-----
        """
    /// The seed and public key `openssl pkey -text` prints for it.
    static let opensslEd25519Seed = bytes("bd32c6285753a482de1eee063a94d82dc72ae9c7c7e8022b4d3fc9042e000895")
    static let opensslEd25519Public = bytes("020d2135d21b3af5f37f2821c416c88036c5c4aae096d9a02dc686f7a5c150b8")

    /// `openssl ecparam -name prime256v1 -genkey`, generated once: an EC PARAMETERS block, then SEC1.
    static let opensslP256 = """
        -----BEGIN EC PARAMETERS-----
        BggqhkjOPQMBBw==
        -----END EC PARAMETERS-----
        -----BEGIN EC PRIVATE KEY-----
        MHcCAQEEIBgs7hIcp5JybIo1PrTIWaaSvxfypPKd61BaDuLY+JiooAoGCCqGSM49
        AwEHoUQDQgAErmTTqi5HDbB2bnChO/HdOmG/qNtmkHtCFxZD25oLlecsbxHNoOOX
        g6bLRAciTPTYfhuYMxp4GPAizjovgVRabQ==
        -----END EC PRIVATE KEY-----
        """
    /// The same key as `openssl pkey` rewrites it (PKCS#8).
    static let opensslP256PKCS8 = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgGCzuEhynknJsijU+
        tMhZppK/F/Kk8p3rUFoO4tj4mKihRANCAASuZNOqLkcNsHZucKE78d06Yb+o22aQ
        e0IXFkPbmguV5yxvEc2g45eDpstEByJM9Nh+G5gzGngY8CLOOi+BVFpt
        -----END PRIVATE KEY-----
        """
    /// The scalar and public point `openssl pkey -text` prints for it.
    static let opensslP256Scalar = bytes("182cee121ca792726c8a353eb4c859a692bf17f2a4f29deb505a0ee2d8f898a8")
    static let opensslP256Public = bytes(
        """
        04ae64d3aa2e470db0766e70a13bf1dd3a61bfa8db66907b42171643db9a0b95e7
          2c6f11cda0e39783a6cb4407224cf4d87e1b98331a7818f022ce3a2f81545a6d
        """)

    /// `openssl ecparam -name secp384r1 -genkey -noout`: the wrong curve.
    static let opensslP384 = """
        -----BEGIN EC PRIVATE KEY-----
        MIGkAgEBBDDBx5I8c+fJP6Hc3yCK0X7A33ZkAzBTdSuyP/LIUy6seKFD2D0c7o0o
        suL2t/jWBf2gBwYFK4EEACKhZANiAAS8jJvJXFoi+7ytsoxPAD84poKEgL7Y2NIT
        W6gowEzBRErD9IeuDSYPVikdI2jglDfev0NbeIM6tdH0NP3DFuD0LswSln56r+O1
        J2alDdnH3U0Dn8mnlTAZTZDUwBTwZzU=
        -----END EC PRIVATE KEY-----
        """
    /// `openssl genpkey -algorithm ed448`: the wrong algorithm.
    static let opensslEd448 = """
        -----BEGIN PRIVATE KEY-----
        MEcCAQAwBQYDK2VxBDsEOdnImBVCWBlgiR6yCx4eulPZsCeWhtYD9Ey6YnDgYlRv
        /yzeOfHd4lIPcncqb8iO6EGB1IuWKSNOUQ==
        -----END PRIVATE KEY-----
        """

    @Test("a key written as PEM is PKCS#8 and reads back as the same key", arguments: SignatureAlgorithm.allCases)
    func roundTrip(algorithm: SignatureAlgorithm) throws {
        let key = SigningPrivateKey.generate(algorithm)
        let pem = key.pemRepresentation
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        #expect(pem.hasSuffix("-----END PRIVATE KEY-----\n"))
        let read = try SigningPrivateKey(pemRepresentation: pem)
        #expect(read.algorithm == algorithm)
        #expect(read.rawBytes == key.rawBytes)
        #expect(read.publicKey == key.publicKey)
        let message = Array("block header".utf8)
        #expect(key.publicKey.isValidSignature(read.signature(for: message), for: message))
    }

    @Test("the Ed25519 key `openssl genpkey` wrote is read with the seed and public key openssl reports")
    func opensslEd25519Key() throws {
        let key = try SigningPrivateKey(pemRepresentation: Self.opensslEd25519)
        #expect(key.algorithm == .ed25519)
        #expect(key.rawBytes == Self.opensslEd25519Seed)
        #expect(key.publicKey.rawBytes == Self.opensslEd25519Public)
        #expect(key.pemRepresentation == Self.opensslEd25519 + "\n")
    }

    @Test("the P-256 key `openssl ecparam -genkey` wrote is read in its SEC1 and PKCS#8 forms alike")
    func opensslP256Key() throws {
        let sec1 = try SigningPrivateKey(pemRepresentation: Self.opensslP256)
        let pkcs8 = try SigningPrivateKey(pemRepresentation: Self.opensslP256PKCS8)
        for key in [sec1, pkcs8] {
            #expect(key.algorithm == .ecdsaP256)
            #expect(key.rawBytes == Self.opensslP256Scalar)
            #expect(key.publicKey.rawBytes == Self.opensslP256Public)
        }
        #expect(sec1.pemRepresentation == Self.opensslP256PKCS8 + "\n")
    }

    @Test(
        "other curves, other algorithms, encrypted keys and text without a key are refused with a reason",
        arguments: [
            (opensslP384, "PEM EC private key is on curve secp384r1; only P-256 is supported"),
            (opensslEd448, "PEM holds a private key of type ED448; only Ed25519 and EC P-256 are supported"),
            (
                """
                -----BEGIN ENCRYPTED PRIVATE KEY-----
                MIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI
                -----END ENCRYPTED PRIVATE KEY-----
                """,
                "encrypted PEM private keys are not supported; decrypt with `openssl pkey` first"
            ),
            ("", "PEM does not hold a private key"),
            ("hello", "PEM does not hold a private key"),
            (
                """
                -----BEGIN PUBLIC KEY-----
                MCowBQYDK2VwAyEAAg0hNdIbOvXzfyghxBbIgDbFxKrgltmgLcaG96XBULg=
                -----END PUBLIC KEY-----
                """,
                "PEM does not hold a private key"
            ),
        ])
    func refused(pem: String, reason: String) {
        #expect(thrownDescription { _ = try SigningPrivateKey(pemRepresentation: pem) } == reason)
    }

    @Test("printing or dumping a private key shows its public key id, never the secret")
    func secretStaysOutOfLogs() throws {
        let key = try SigningPrivateKey(pemRepresentation: Self.opensslEd25519)
        let printed = "\(key)"
        var dumped = ""
        dump(key, to: &dumped)
        for text in [printed, String(reflecting: key), dumped] {
            #expect(!text.contains(Hex.encode(key.rawBytes)))
            // The first seed byte, 0xbd, as dump writes an array element: a line of its own ("- 189"). Not a bare
            // "189", which a type's or pointer's address in the dump may hold.
            #expect(!text.contains("- 189\n"))
        }
        #expect(printed == "SigningPrivateKey(ed25519, public key id \(key.publicKey.keyID))")
    }
}
