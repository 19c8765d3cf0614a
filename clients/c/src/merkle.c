/* RFC 9162 Merkle tree hashes and proof verification (sections 2.1.1, 2.1.3.2 and 2.1.4.2): pure functions over
 * hashes, no I/O, so a node's inclusion and consistency proofs are checked by the algorithm the RFC gives. */
#include <string.h>

#include <openssl/evp.h>

#include "internal.h"

/* SHA-256 of a one-byte domain prefix followed by up to two byte strings. */
static void prefixed_hash(uint8_t prefix, const uint8_t *first, size_t first_length, const uint8_t *second,
                          size_t second_length, uint8_t out[HL_HASH_BYTES]) {
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    unsigned int length = 0;
    /* Allocation failure leaves a hash no proof can match, so the proof fails rather than passes. */
    if (context == NULL || EVP_DigestInit_ex(context, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(context, &prefix, 1) != 1 || EVP_DigestUpdate(context, first, first_length) != 1 ||
        (second_length > 0 && EVP_DigestUpdate(context, second, second_length) != 1) ||
        EVP_DigestFinal_ex(context, out, &length) != 1) {
        memset(out, 0, HL_HASH_BYTES);
    }
    EVP_MD_CTX_free(context);
}

void hl_merkle_leaf_hash(const uint8_t *entry, size_t length, uint8_t out[HL_HASH_BYTES]) {
    prefixed_hash(0x00, entry, length, NULL, 0, out);
}

void hl_merkle_node_hash(const uint8_t left[HL_HASH_BYTES], const uint8_t right[HL_HASH_BYTES],
                         uint8_t out[HL_HASH_BYTES]) {
    prefixed_hash(0x01, left, HL_HASH_BYTES, right, HL_HASH_BYTES, out);
}

static bool all_hashes(const ProtobufCBinaryData *path, size_t count) {
    if (count > HL_MERKLE_MAX_PATH) return false;
    for (size_t i = 0; i < count; i++) {
        if (path[i].len != HL_HASH_BYTES) return false;
    }
    return true;
}

bool hl_merkle_verify_inclusion(uint64_t leaf_index, uint64_t tree_size, const uint8_t leaf_hash[HL_HASH_BYTES],
                                const ProtobufCBinaryData *path, size_t count, const uint8_t root[HL_HASH_BYTES]) {
    if (leaf_index >= tree_size || !all_hashes(path, count)) return false;
    uint64_t fn = leaf_index, sn = tree_size - 1;
    uint8_t r[HL_HASH_BYTES];
    memcpy(r, leaf_hash, HL_HASH_BYTES);
    for (size_t i = 0; i < count; i++) {
        if (sn == 0) return false;
        if ((fn & 1) != 0 || fn == sn) {
            hl_merkle_node_hash(path[i].data, r, r);
            while ((fn & 1) == 0 && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            hl_merkle_node_hash(r, path[i].data, r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(r, root, HL_HASH_BYTES) == 0;
}

bool hl_merkle_verify_consistency(uint64_t first_size, uint64_t second_size, const uint8_t first_root[HL_HASH_BYTES],
                                  const uint8_t second_root[HL_HASH_BYTES], const ProtobufCBinaryData *path,
                                  size_t count) {
    if (first_size == 0 || first_size > second_size || !all_hashes(path, count)) return false;
    if (first_size == second_size) {
        return count == 0 && memcmp(first_root, second_root, HL_HASH_BYTES) == 0;
    }
    if (count == 0) return false;
    /* A first tree that is a complete subtree is its own first proof node; the RFC prepends its root. */
    bool power_of_two = (first_size & (first_size - 1)) == 0;
    size_t next = 0;
    const uint8_t *start = power_of_two ? first_root : path[next++].data;
    uint64_t fn = first_size - 1, sn = second_size - 1;
    while ((fn & 1) != 0) {
        fn >>= 1;
        sn >>= 1;
    }
    uint8_t fr[HL_HASH_BYTES], sr[HL_HASH_BYTES];
    memcpy(fr, start, HL_HASH_BYTES);
    memcpy(sr, start, HL_HASH_BYTES);
    for (; next < count; next++) {
        const uint8_t *c = path[next].data;
        if (sn == 0) return false;
        if ((fn & 1) != 0 || fn == sn) {
            hl_merkle_node_hash(c, fr, fr);
            hl_merkle_node_hash(c, sr, sr);
            while ((fn & 1) == 0 && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            hl_merkle_node_hash(sr, c, sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(fr, first_root, HL_HASH_BYTES) == 0 && memcmp(sr, second_root, HL_HASH_BYTES) == 0;
}
