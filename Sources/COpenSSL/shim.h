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
#endif
