// Ed25519 verifications per second of one thread's CPU time, libcrypto (as LedgerCrypto used it: EVP, a fresh
// context per call) beside libsodium (what LedgerCrypto uses now), over one 200-byte message, about the size of a
// signed block header. Run by hand; see BENCHMARKS.md, "Proofs and verification".
//
//   gcc -O2 Benchmarks/ledger/ed25519-verify-bench.c -lcrypto -lsodium -o /tmp/ed25519-verify-bench
//   /tmp/ed25519-verify-bench [verifications per run, 10000] [runs, 5]
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double thread_cpu_seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int count = argc > 1 ? atoi(argv[1]) : 10000;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    unsigned char public_key[32], secret_key[64], message[200], signature[64];
    memset(message, 7, sizeof message);
    if (sodium_init() < 0) return 1;
    crypto_sign_keypair(public_key, secret_key);
    crypto_sign_detached(signature, NULL, message, sizeof message, secret_key);
    EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, public_key, 32);
    if (key == NULL) return 1;
    long valid = 0;
    for (int run = 1; run <= runs; run++) {
        double start = thread_cpu_seconds();
        for (int i = 0; i < count; i++) {
            EVP_MD_CTX *context = EVP_MD_CTX_new();
            EVP_DigestVerifyInit(context, NULL, NULL, NULL, key);
            valid += EVP_DigestVerify(context, signature, 64, message, sizeof message) == 1;
            EVP_MD_CTX_free(context);
        }
        double libcrypto = thread_cpu_seconds() - start;
        start = thread_cpu_seconds();
        for (int i = 0; i < count; i++) {
            valid += crypto_sign_verify_detached(signature, message, sizeof message, public_key) == 0;
        }
        double libsodium = thread_cpu_seconds() - start;
        printf("RESULT run=%d libcrypto_verify_per_s=%.0f libsodium_verify_per_s=%.0f\n", run, count / libcrypto,
               count / libsodium);
    }
    EVP_PKEY_free(key);
    return valid == 2L * count * runs ? 0 : 1;
}
