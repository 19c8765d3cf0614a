// OpenSSL 3 (libssl, libcrypto): TLS with ALPN for the HTTP/2 transport.
#ifndef HEALTHLEDGER_COPENSSL_SHIM_H
#define HEALTHLEDGER_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

// One-shot SHA-256 on a stack context. OpenSSL 3 deprecates the low-level calls, but EVP_Digest allocates and
// initialises a context through the provider on every call, which costs more than hashing a Merkle node; the
// low-level ones run the same SHA-256 code with nothing around it.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
static inline void healthledger_sha256(const void *bytes, size_t count, unsigned char *digest) {
    SHA256_CTX context;
    SHA256_Init(&context);
    SHA256_Update(&context, bytes, count);
    SHA256_Final(digest, &context);
}
#pragma clang diagnostic pop
#endif
