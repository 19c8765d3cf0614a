import COpenSSL

/// Reading keys and certificates from PEM files, with errors that name the file.
enum PEMFile {
    /// The private key in a PEM file (PKCS#8, or the traditional EC/RSA forms); encrypted keys are refused.
    static func readPrivateKey(path: String) throws(TLSError) -> OpaquePointer {
        let file = try open(path, purpose: "private key")
        defer { BIO_free(file) }
        // A nil password callback would make OpenSSL prompt on the terminal; answering "no password" fails instead.
        guard let key = PEM_read_bio_PrivateKey(file, nil, { _, _, _, _ in 0 }, nil) else {
            throw .openSSL("cannot read private key from \(path)")
        }
        return key
    }

    /// The first certificate in a PEM file.
    static func readCertificate(path: String) throws(TLSError) -> OpaquePointer {
        let file = try open(path, purpose: "certificate")
        defer { BIO_free(file) }
        guard let certificate = PEM_read_bio_X509(file, nil, nil, nil) else {
            throw .openSSL("cannot read certificate from \(path)")
        }
        return certificate
    }

    private static func open(_ path: String, purpose: String) throws(TLSError) -> OpaquePointer {
        OpenSSLErrorQueue.clear()
        guard let file = BIO_new_file(path, "r") else {
            throw .openSSL("cannot open \(purpose) file \(path)")
        }
        return file
    }
}
