import COpenSSL

/// Checks that 32 bytes are an Ed25519 public key a signature can be valid for (RFC 8032 section 5.1.3 decoding):
/// y below p, a point on the curve, and not one of the small-order points (the identity among them), whose
/// "signatures" would verify for any message.
enum Ed25519PointEncoding {
    /// p = 2^255 - 19, big-endian.
    private static let prime = Hex.decode("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed")!
    /// The curve constant d = -121665 / 121666 mod p, big-endian.
    private static let curveD = Hex.decode("52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3")!
    /// The y coordinates (little-endian, sign bit clear) of the eight points of order dividing 8: 0 (order 4),
    /// 1 (the identity), two of order 8 and p - 1 (order 2).
    private static let smallOrderY: [[UInt8]] = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ].map { Hex.decode($0)! }

    /// Nil when `encoded` (32 bytes) is a usable public key, otherwise what is wrong with it.
    static func problem(with encoded: [UInt8]) -> String? {
        precondition(encoded.count == 32)
        var y = encoded
        y[31] &= 0x7f  // the top bit is the sign of x
        if !isBelowPrime(littleEndian: y) {
            return "Ed25519 public key is not a canonical point encoding (y >= 2^255 - 19)"
        }
        if smallOrderY.contains(y) {
            return "Ed25519 public key is a small-order point"
        }
        if !hasX(forLittleEndianY: y) {
            return "Ed25519 public key is not a point on the curve"
        }
        return nil
    }

    private static func isBelowPrime(littleEndian y: [UInt8]) -> Bool {
        y.reversed().lexicographicallyPrecedes(prime)
    }

    /// True when x^2 = (y^2 - 1) / (d y^2 + 1) has a solution mod p, i.e. some point of the curve has this y.
    /// u / v is a square exactly when u * v is (v^2 is one), which a Jacobi symbol settles without a square root.
    private static func hasX(forLittleEndianY yBytes: [UInt8]) -> Bool {
        guard let context = BN_CTX_new() else { return false }
        defer { BN_CTX_free(context) }
        let p = BN_bin2bn(prime, Int32(prime.count), nil)
        let d = BN_bin2bn(curveD, Int32(curveD.count), nil)
        let y = BN_lebin2bn(yBytes, Int32(yBytes.count), nil)
        let ySquared = BN_new(), u = BN_new(), v = BN_new(), product = BN_new()
        defer { for number in [p, d, y, ySquared, u, v, product] { BN_free(number) } }
        guard let p, let d, let y, let ySquared, let u, let v, let product,
            BN_mod_sqr(ySquared, y, p, context) == 1,
            BN_mod_sub(u, ySquared, BN_value_one(), p, context) == 1,
            BN_mod_mul(v, d, ySquared, p, context) == 1,
            BN_mod_add(v, v, BN_value_one(), p, context) == 1,
            BN_mod_mul(product, u, v, p, context) == 1
        else {
            Libcrypto.clearErrors()
            return false
        }
        // 0 only for y = ±1 (x = 0), which the small-order check has already refused; d y^2 + 1 is never 0
        // because d is not a square mod p.
        let symbol = BN_kronecker(product, p, context)
        if symbol < -1 { Libcrypto.clearErrors() }
        return symbol >= 0
    }
}
