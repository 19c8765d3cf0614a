import COpenSSL

/// NIST P-256 keys in libcrypto: public keys from SEC1 points, private keys from scalars.
enum P256 {
    /// The group order n, big-endian.
    static let order = Hex.decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")!

    /// EVP_PKEY_PUBLIC_KEY and EVP_PKEY_KEYPAIR, macros Swift does not import.
    private static let publicKeySelection =
        OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS | OSSL_KEYMGMT_SELECT_OTHER_PARAMETERS | OSSL_KEYMGMT_SELECT_PUBLIC_KEY
    private static let keyPairSelection = publicKeySelection | OSSL_KEYMGMT_SELECT_PRIVATE_KEY

    /// True when the 32 big-endian bytes are a scalar in 1...n-1; examines every byte whatever the answer.
    static func isValidScalar(_ scalar: [UInt8]) -> Bool {
        guard scalar.count == 32 else { return false }
        var borrow = 0
        var anyBit: UInt8 = 0
        for index in (0..<32).reversed() {
            let difference = Int(scalar[index]) - Int(order[index]) - borrow
            borrow = difference < 0 ? 1 : 0
            anyBit |= scalar[index]
        }
        return borrow == 1 && anyBit != 0
    }

    /// The key for an uncompressed SEC1 point (0x04 || X || Y), or nil when the point is not on the curve.
    static func publicKey(point: [UInt8]) -> LibcryptoKey? {
        var point = point
        return point.withUnsafeMutableBytes { point in
            var parameters = [
                OSSL_PARAM_construct_utf8_string(Libcrypto.cString("group"), Libcrypto.cString("prime256v1"), 0),
                OSSL_PARAM_construct_octet_string(Libcrypto.cString("pub"), point.baseAddress, point.count),
                OSSL_PARAM_construct_end(),
            ]
            return makeKey(from: &parameters, selection: publicKeySelection)
        }
    }

    /// The key for a scalar in 1...n-1 and its public point (0x04 || X || Y).
    static func privateKey(scalar: [UInt8]) -> (key: LibcryptoKey, publicPoint: [UInt8]) {
        precondition(isValidScalar(scalar))
        let publicPoint = multiplyGenerator(by: scalar)
        var publicBytes = publicPoint
        // OSSL_PARAM integers are in native byte order.
        #if _endian(little)
            var nativeScalar = Array(scalar.reversed())
        #else
            var nativeScalar = scalar
        #endif
        defer { OPENSSL_cleanse(&nativeScalar, nativeScalar.count) }
        let key = publicBytes.withUnsafeMutableBytes { point in
            nativeScalar.withUnsafeMutableBytes { scalar in
                var parameters = [
                    OSSL_PARAM_construct_utf8_string(Libcrypto.cString("group"), Libcrypto.cString("prime256v1"), 0),
                    OSSL_PARAM_construct_octet_string(Libcrypto.cString("pub"), point.baseAddress, point.count),
                    OSSL_PARAM_construct_BN(
                        Libcrypto.cString("priv"), scalar.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        scalar.count),
                    OSSL_PARAM_construct_end(),
                ]
                return makeKey(from: &parameters, selection: keyPairSelection)
            }
        }
        guard let key else { preconditionFailure("EVP_PKEY_fromdata rejected a valid P-256 key pair") }
        return (key, publicPoint)
    }

    /// scalar * G as an uncompressed point.
    private static func multiplyGenerator(by scalar: [UInt8]) -> [UInt8] {
        let group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)!
        defer { EC_GROUP_free(group) }
        let secret = BN_bin2bn(scalar, Int32(scalar.count), nil)!
        defer { BN_clear_free(secret) }
        BN_set_flags(secret, BN_FLG_CONSTTIME)
        let point = EC_POINT_new(group)!
        defer { EC_POINT_free(point) }
        precondition(EC_POINT_mul(group, point, secret, nil, nil, nil) == 1, "EC_POINT_mul failed")
        return [UInt8](unsafeUninitializedCapacity: 65) { buffer, count in
            count = EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, buffer.baseAddress, 65, nil)
            precondition(count == 65, "EC_POINT_point2oct failed")
        }
    }

    private static func makeKey(from parameters: inout [OSSL_PARAM], selection: Int32) -> LibcryptoKey? {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else {
            Libcrypto.clearErrors()
            return nil
        }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_fromdata_init(context) == 1, EVP_PKEY_fromdata(context, &key, selection, &parameters) == 1,
            let key
        else {
            Libcrypto.clearErrors()
            return nil
        }
        return LibcryptoKey(taking: key)
    }
}

/// ECDSA signatures between the wire form r || s (32 + 32 bytes, big-endian) and libcrypto's ASN.1 DER form.
enum ECDSASignatureEncoding {
    /// The DER SEQUENCE { INTEGER r, INTEGER s } of a 64-byte r || s.
    static func der(fromRaw raw: [UInt8]) -> [UInt8] {
        precondition(raw.count == 64)
        var integers: [UInt8] = []
        integers.reserveCapacity(70)
        for half in [raw[0..<32], raw[32..<64]] {
            var value = half.drop { $0 == 0 }
            if value.isEmpty { value = half.suffix(1) }
            let needsSignByte = value.first! & 0x80 != 0
            integers.append(0x02)
            integers.append(UInt8(value.count + (needsSignByte ? 1 : 0)))
            if needsSignByte { integers.append(0) }
            integers.append(contentsOf: value)
        }
        return [0x30, UInt8(integers.count)] + integers
    }

    /// The 64-byte r || s of a DER ECDSA signature, or nil when it is not one with r and s below 2^256.
    static func raw(fromDER der: [UInt8]) -> [UInt8]? {
        guard der.count >= 8, der[0] == 0x30, der[1] < 0x80, Int(der[1]) == der.count - 2 else { return nil }
        var raw: [UInt8] = []
        raw.reserveCapacity(64)
        var index = 2
        for _ in 0..<2 {
            guard index + 2 <= der.count, der[index] == 0x02 else { return nil }
            let length = Int(der[index + 1])
            guard length >= 1, length < 0x80, index + 2 + length <= der.count else { return nil }
            let value = der[(index + 2)..<(index + 2 + length)].drop { $0 == 0 }
            guard value.count <= 32 else { return nil }
            raw.append(contentsOf: repeatElement(0, count: 32 - value.count))
            raw.append(contentsOf: value)
            index += 2 + length
        }
        return index == der.count ? raw : nil
    }
}
