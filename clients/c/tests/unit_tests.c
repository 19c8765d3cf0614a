/* Unit tests of libhealthledger's pure parts: the contract's test vectors (ids, encodings, signatures), gRPC
 * framing cut at every byte, error mapping, RFC 9162 proofs (vectors from tests/merkle_vectors.py), checkpoint
 * signatures and the trusted history. Built with AddressSanitizer and UBSan by `make check`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "internal.h"

static int failures = 0;

#define EXPECT(condition, ...)                                                                                 \
    do {                                                                                                       \
        if (!(condition)) {                                                                                    \
            failures++;                                                                                        \
            fprintf(stderr, "%s:%d: expected %s: ", __FILE__, __LINE__, #condition);                           \
            fprintf(stderr, __VA_ARGS__);                                                                      \
            fputc('\n', stderr);                                                                               \
        }                                                                                                      \
    } while (0)

static size_t from_hex(const char *hex, uint8_t *out) {
    size_t length = strlen(hex) / 2;
    for (size_t i = 0; i < length; i++) {
        unsigned value = 0;
        sscanf(hex + 2 * i, "%2x", &value);
        out[i] = (uint8_t)value;
    }
    return length;
}

/* RFC 8032 section 7.1, test 1. */
static const char rfc8032_secret[] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char rfc8032_public[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char rfc8032_empty_signature[] =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe2"
    "4655141438e7a100b";
static const char vector_principal[] = "hl1y8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtf8";

static void given_the_identity_proto_vector_then_key_id_and_principal_id_match(void) {
    uint8_t key[32];
    from_hex(rfc8032_public, key);
    char key_id[HL_HEX_ID_LENGTH + 1], principal[HL_PRINCIPAL_ID_LENGTH + 1];
    hl_key_id(key, sizeof key, key_id);
    hl_principal_id(key, sizeof key, principal);
    EXPECT(strcmp(key_id, "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9") == 0, "%s", key_id);
    EXPECT(strcmp(principal, vector_principal) == 0, "%s", principal);
}

static void principal_ids_are_accepted_only_in_their_exact_form(void) {
    hl_error error;
    EXPECT(hl_principal_id_check(vector_principal, &error) == 0, "%s", error.message);
    EXPECT(hl_principal_id_check("HL1Y8LRRHAP2J3XZCNTLP2QGM7JYUDHHM2TQTGTF8", &error) != 0 &&
               strstr(error.message, "lowercase"), "%s", error.message);
    EXPECT(hl_principal_id_check("hl1y8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtf", &error) != 0 &&
               strstr(error.message, "characters"), "%s", error.message);
    /* One typo (f -> g in the data) breaks the checksum. */
    EXPECT(hl_principal_id_check("hl1y8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtg8", &error) != 0 &&
               strstr(error.message, "checksum"), "%s", error.message);
    EXPECT(hl_principal_id_check("hl1y8lrrhap2j3xzcntlp2qgm7jyudhhm2tqtgtfb", &error) != 0, "b is not Bech32");
    /* The same payload in original Bech32 (BIP-173) is not Bech32m. */
    uint8_t key[32], digest[32];
    from_hex(rfc8032_public, key);
    hl_sha256(key, sizeof key, digest);
    char bech32m[64];
    hl_bech32m_encode("hl", digest, 20, bech32m);
    EXPECT(strcmp(bech32m, vector_principal) == 0, "%s", bech32m);
}

static void the_session_message_is_context_labelled(void) {
    const uint8_t challenge[3] = {1, 2, 3};
    size_t length = 0;
    uint8_t *message = hl_session_message("c-dev", "hl1x", challenge, sizeof challenge, &length);
    static const uint8_t expected[] = "\0healthledger.v1.session\0c-dev\0hl1x\0\x01\x02\x03";
    EXPECT(length == sizeof expected - 1 && memcmp(message, expected, length) == 0, "%zu bytes", length);
    free(message);
}

/* A PKCS#8 identity file of the RFC 8032 key, as `healthledger keygen` writes them. */
static char *write_rfc8032_identity(mode_t mode, bool with_headers) {
    uint8_t secret[32];
    from_hex(rfc8032_secret, secret);
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, secret, sizeof secret);
    static char path[64];
    strcpy(path, "/tmp/hl-unit-identity-XXXXXX");
    int descriptor = mkstemp(path);
    FILE *file = fdopen(descriptor, "w");
    if (with_headers) {
        fprintf(file, "# HealthLedger identity.\nprincipal: %s\nalgorithm: ed25519\nkey-id: "
                      "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9\n", vector_principal);
    }
    PEM_write_PrivateKey(file, key, NULL, NULL, 0, NULL, NULL);
    fclose(file);
    chmod(path, mode);
    EVP_PKEY_free(key);
    return path;
}

static void an_identity_file_loads_and_signs_as_rfc8032_says(void) {
    hl_error error = {0};
    char *path = write_rfc8032_identity(0600, true);
    hl_identity *identity = hl_identity_load(path, &error);
    EXPECT(identity != NULL, "%s", error.message);
    if (identity != NULL) {
        EXPECT(strcmp(hl_identity_principal_id(identity), vector_principal) == 0, "%s",
               hl_identity_principal_id(identity));
        uint8_t signature[HL_SIGNATURE_BYTES], expected[HL_SIGNATURE_BYTES];
        from_hex(rfc8032_empty_signature, expected);
        EXPECT(hl_identity_sign(identity, (const uint8_t *)"", 0, signature, &error) == 0, "%s", error.message);
        EXPECT(memcmp(signature, expected, sizeof expected) == 0, "the RFC 8032 signature");
        hl_identity_free(identity);
    }
    unlink(path);

    path = write_rfc8032_identity(0600, false);
    identity = hl_identity_load(path, &error);
    EXPECT(identity != NULL && strcmp(hl_identity_principal_id(identity), vector_principal) == 0,
           "no headers: the id derives from the key");
    hl_identity_free(identity);
    unlink(path);

    path = write_rfc8032_identity(0644, true);
    EXPECT(hl_identity_load(path, &error) == NULL && error.code == HL_STATUS_INVALID_ARGUMENT &&
               strstr(error.message, "mode 644"), "%s", error.message);
    unlink(path);
    EXPECT(hl_identity_load("/nonexistent/identity.pem", &error) == NULL && error.code == HL_STATUS_NOT_FOUND,
           "%s", error.message);
}

static void a_generated_p256_identity_signs_raw_r_and_s_that_verify(void) {
    hl_error error = {0};
    char path[] = "/tmp/hl-unit-p256-XXXXXX";
    close(mkstemp(path));
    unlink(path);
    hl_identity *identity = hl_identity_generate(path, HL_KEY_ECDSA_P256, &error);
    EXPECT(identity != NULL, "%s", error.message);
    if (identity == NULL) return;
    hl_identity *loaded = hl_identity_load(path, &error);
    EXPECT(loaded != NULL && strcmp(hl_identity_key_id(loaded), hl_identity_key_id(identity)) == 0, "%s",
           error.message);
    size_t key_length = 0;
    const uint8_t *key = hl_identity_public_key(identity, &key_length);
    EXPECT(key_length == 65 && key[0] == 0x04, "an uncompressed point");
    uint8_t signature[HL_SIGNATURE_BYTES];
    const uint8_t message[] = "reading";
    EXPECT(hl_identity_sign(identity, message, sizeof message, signature, &error) == 0, "%s", error.message);
    /* Back to DER, which OpenSSL verifies. */
    ECDSA_SIG *der_signature = ECDSA_SIG_new();
    ECDSA_SIG_set0(der_signature, BN_bin2bn(signature, 32, NULL), BN_bin2bn(signature + 32, 32, NULL));
    unsigned char *der = NULL;
    int der_length = i2d_ECDSA_SIG(der_signature, &der);
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    FILE *file = fopen(path, "r");
    EVP_PKEY *private_key = PEM_read_PrivateKey(file, NULL, NULL, NULL);
    fclose(file);
    EXPECT(EVP_DigestVerifyInit(context, NULL, EVP_sha256(), NULL, private_key) == 1 &&
               EVP_DigestVerify(context, der, (size_t)der_length, message, sizeof message) == 1,
           "the raw signature verifies");
    EVP_PKEY_free(private_key);
    EVP_MD_CTX_free(context);
    OPENSSL_free(der);
    ECDSA_SIG_free(der_signature);
    hl_identity_free(loaded);
    hl_identity_free(identity);
    EXPECT(hl_identity_generate(path, HL_KEY_ED25519, &error) == NULL && error.code == HL_STATUS_ALREADY_EXISTS,
           "an identity file is never replaced");
    unlink(path);
}

static void a_der_signature_with_short_integers_is_left_padded(void) {
    const uint8_t der[] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02};
    uint8_t raw[HL_SIGNATURE_BYTES], expected[HL_SIGNATURE_BYTES] = {0};
    expected[31] = 1;
    expected[63] = 2;
    hl_error error;
    EXPECT(hl_p256_signature_from_der(der, sizeof der, raw, &error) == 0, "%s", error.message);
    EXPECT(memcmp(raw, expected, sizeof raw) == 0, "r = 1, s = 2");
    EXPECT(hl_p256_signature_from_der(der, sizeof der - 1, raw, &error) != 0, "truncated DER is refused");
}

static void a_write_body_is_the_deterministic_encoding_python_makes(void) {
    /* `TransactionBody.SerializeToString(deterministic=True)` of the same fields, by the Python client. */
    static const char expected_hex[] =
        "0a05632d6465761229686c3179386c7272686170326a33787a636e746c703271676d376a79756468686d3274717467746638180320fb"
        "d095ffbc316287010a29686c3179386c7272686170326a33787a636e746c703271676d376a79756468686d32747174677466381005"
        "1a2008b9c4e2ce7a76b89c0654c2c971958cc4a4022c8654dedb9c4cab99201e0dc920122a0a746578742f706c61696e3880d095ff"
        "bc31420e0a06622e756e697412046d6d6f6c42110a0664657669636512076d657465722d31";
    uint8_t expected[512];
    size_t expected_length = from_hex(expected_hex, expected);
    const char *keys[] = {"device", "b.unit"}, *values[] = {"meter-1", "mmol"}; /* unsorted on purpose */
    const char content[] = "glucose 5.4 mmol/L";
    hl_record_to_write record = {.patient = vector_principal, .category = HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_LABS,
                                 .media_type = "text/plain", .effective_at_unix_ms = 1700000000000,
                                 .content = (const uint8_t *)content, .content_length = strlen(content),
                                 .label_keys = keys, .label_values = values, .label_count = 2};
    size_t length = 0;
    uint8_t *body = hl_encode_write_body("c-dev", vector_principal, 3, 1700000000123, &record, &length);
    EXPECT(length == expected_length && memcmp(body, expected, length) == 0, "%zu bytes, Python made %zu", length,
           expected_length);
    free(body);
}

static void an_optional_field_set_to_its_default_is_written(void) {
    /* proto3 `optional` (rewritten to a synthetic oneof for protobuf-c) keeps explicit presence: Python's bytes. */
    uint8_t expected[32];
    size_t expected_length = from_hex("0a05632d646576180328005a040a026162", expected);
    Healthledger__V1__Revoke revoke = HEALTHLEDGER__V1__REVOKE__INIT;
    revoke.grant_id = "ab";
    Healthledger__V1__TransactionBody body = HEALTHLEDGER__V1__TRANSACTION_BODY__INIT;
    body.chain_id = "c-dev";
    body.sequence = 3;
    body._expires_at_unix_ms_case = HEALTHLEDGER__V1__TRANSACTION_BODY___EXPIRES_AT_UNIX_MS_EXPIRES_AT_UNIX_MS;
    body.expires_at_unix_ms = 0;
    body.operation_case = HEALTHLEDGER__V1__TRANSACTION_BODY__OPERATION_REVOKE;
    body.revoke = &revoke;
    size_t length = 0;
    uint8_t *bytes = hl_pack(&body.base, &length);
    EXPECT(length == expected_length && memcmp(bytes, expected, length) == 0, "%zu bytes", length);
    free(bytes);
}

/* Collects deframed messages as "<length>:<first byte>" entries. */
typedef struct collected {
    char log[256];
    size_t count;
} collected;

static int collect(void *context, const uint8_t *payload, size_t length) {
    collected *messages = context;
    size_t used = strlen(messages->log);
    snprintf(messages->log + used, sizeof messages->log - used, "%zu:%d ", length, length ? payload[0] : -1);
    messages->count++;
    return 0;
}

static void grpc_messages_are_found_however_the_body_is_cut(void) {
    /* Three messages: 3 bytes, empty, 2 bytes. */
    const uint8_t body[] = {0, 0, 0, 0, 3, 7, 8, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 5, 6};
    for (size_t first = 0; first <= sizeof body; first++) {
        for (size_t second = first; second <= sizeof body; second++) {
            hl_deframer deframer = {0};
            collected messages = {{0}, 0};
            hl_error error;
            int result = hl_deframer_feed(&deframer, body, first, collect, &messages, &error) |
                         hl_deframer_feed(&deframer, body + first, second - first, collect, &messages, &error) |
                         hl_deframer_feed(&deframer, body + second, sizeof body - second, collect, &messages, &error);
            EXPECT(result == 0 && strcmp(messages.log, "3:7 0:-1 2:5 ") == 0 && hl_deframer_at_boundary(&deframer),
                   "cut at %zu and %zu: %s", first, second, messages.log);
            hl_deframer_free(&deframer);
        }
    }
    hl_deframer deframer = {0};
    collected messages = {{0}, 0};
    hl_error error;
    const uint8_t half[] = {0, 0, 0, 0, 3, 7};
    hl_deframer_feed(&deframer, half, sizeof half, collect, &messages, &error);
    EXPECT(!hl_deframer_at_boundary(&deframer) && messages.count == 0, "a cut message is not delivered");
    hl_deframer_free(&deframer);

    const uint8_t compressed[] = {1, 0, 0, 0, 1, 9};
    deframer = (hl_deframer){0};
    EXPECT(hl_deframer_feed(&deframer, compressed, sizeof compressed, collect, &messages, &error) != 0 &&
               error.code == HL_STATUS_INTERNAL, "a compressed message is refused");
    hl_deframer_free(&deframer);
    const uint8_t huge[] = {0, 0x7f, 0, 0, 0};
    deframer = (hl_deframer){0};
    EXPECT(hl_deframer_feed(&deframer, huge, sizeof huge, collect, &messages, &error) != 0 &&
               error.code == HL_STATUS_RESOURCE_EXHAUSTED, "an oversized message is refused before buffering");
    hl_deframer_free(&deframer);
}

static void a_framed_request_has_the_five_byte_prefix(void) {
    Healthledger__V1__GetPrincipalRequest request = HEALTHLEDGER__V1__GET_PRINCIPAL_REQUEST__INIT;
    request.principal_id = "ab";
    hl_buffer out = {0};
    EXPECT(hl_grpc_frame_message(&out, &request.base) == 0, "framed");
    const uint8_t expected[] = {0, 0, 0, 0, 4, 0x0a, 2, 'a', 'b'};
    EXPECT(out.length == sizeof expected && memcmp(out.bytes, expected, sizeof expected) == 0, "%zu bytes", out.length);
    hl_buffer_free(&out);
}

static void statuses_and_messages_map_as_grpc_says(void) {
    char text[64];
    hl_grpc_message_decode("no%20WRITE%3a permit%", 21, text, sizeof text);
    EXPECT(strcmp(text, "no WRITE: permit%") == 0, "%s", text);
    hl_grpc_message_decode("abcdef", 6, text, 4);
    EXPECT(strcmp(text, "abc") == 0, "truncated to capacity: %s", text);
    EXPECT(hl_status_from_http(404) == HL_STATUS_UNIMPLEMENTED && hl_status_from_http(503) == HL_STATUS_UNAVAILABLE &&
               hl_status_from_http(401) == HL_STATUS_UNAUTHENTICATED && hl_status_from_http(500) == HL_STATUS_UNKNOWN,
           "HTTP to gRPC");
    EXPECT(strcmp(hl_status_code_name(HL_STATUS_PERMISSION_DENIED), "PERMISSION_DENIED") == 0 &&
               strcmp(hl_status_code_name((hl_status_code)99), "UNKNOWN") == 0, "names");
    hl_error error = {.rpc = "Write"};
    hl_error_set(&error, HL_STATUS_PERMISSION_DENIED, HL_ORIGIN_NODE, "no permit\nfor labs");
    char line[128];
    hl_error_format(&error, line, sizeof line);
    EXPECT(strcmp(line, "Write: PERMISSION_DENIED: no permit for labs") == 0, "one line: %s", line);
}

static void names_are_spelled_as_the_command_line_spells_them(void) {
    EXPECT(hl_category_from_name("Clinical_Notes") == HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_CLINICAL_NOTES, "category and purpose names");
    EXPECT(hl_category_from_name("all") == HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_ALL, "category and purpose names");
    EXPECT(hl_category_from_name("xrays") == 0 && hl_category_from_name("lab") == 0, "category and purpose names");
    EXPECT(strcmp(hl_category_name(HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_LABS), "labs") == 0, "category and purpose names");
    EXPECT(hl_purpose_from_name("patient_request") == HEALTHLEDGER__V1__PURPOSE__PURPOSE_PATIENT_REQUEST, "category and purpose names");
}

/* ---- RFC 9162 proofs, checkpoints and the trusted history ----------------------------------------------- */

struct inclusion_vector {
    uint64_t leaf_index, tree_size;
    size_t count;
    const char *path[8];
};

struct consistency_vector {
    uint64_t first, second;
    size_t count;
    const char *path[8];
};

#include "merkle_vectors.inc"

#define VECTOR_COUNT(array) (sizeof array / sizeof array[0])

/* Path hashes of a vector as protobuf-c binary data over `storage` (8 hashes at most). */
static size_t vector_path(const char *const *hex, size_t count, uint8_t storage[8][HL_HASH_BYTES],
                          ProtobufCBinaryData path[8]) {
    for (size_t i = 0; i < count; i++) {
        from_hex(hex[i], storage[i]);
        path[i] = (ProtobufCBinaryData){HL_HASH_BYTES, storage[i]};
    }
    return count;
}

static void root_of(uint64_t size, uint8_t root[HL_HASH_BYTES]) {
    from_hex(vector_roots[size - 1], root);
}

static void leaf_of(uint64_t index, uint8_t leaf[HL_HASH_BYTES]) {
    uint8_t entry[32];
    size_t length = from_hex(vector_leaves[index], entry);
    hl_merkle_leaf_hash(entry, length, leaf);
}

static void every_rfc9162_inclusion_vector_verifies_and_every_tampering_fails(void) {
    for (size_t v = 0; v < VECTOR_COUNT(inclusion_vectors); v++) {
        const struct inclusion_vector *vector = &inclusion_vectors[v];
        uint8_t storage[8][HL_HASH_BYTES], root[HL_HASH_BYTES], leaf[HL_HASH_BYTES];
        ProtobufCBinaryData path[8];
        size_t count = vector_path(vector->path, vector->count, storage, path);
        root_of(vector->tree_size, root);
        leaf_of(vector->leaf_index, leaf);
        uint64_t m = vector->leaf_index, n = vector->tree_size;
        EXPECT(hl_merkle_verify_inclusion(m, n, leaf, path, count, root), "leaf %llu of %llu", (unsigned long long)m,
               (unsigned long long)n);
        for (size_t i = 0; i < count; i++) {
            storage[i][i % HL_HASH_BYTES] ^= 0x40;
            EXPECT(!hl_merkle_verify_inclusion(m, n, leaf, path, count, root), "hash %zu flipped, leaf %llu of %llu",
                   i, (unsigned long long)m, (unsigned long long)n);
            storage[i][i % HL_HASH_BYTES] ^= 0x40;
        }
        /* (Another tree size of the same shape gives the same path; the signed checkpoint binds the size.) */
        EXPECT(!hl_merkle_verify_inclusion(n, n, leaf, path, count, root), "index = size %llu", (unsigned long long)n);
        if (n > 1) {
            EXPECT(!hl_merkle_verify_inclusion((m ^ 1) < n ? (m ^ 1) : m - 1, n, leaf, path, count, root),
                   "another index than %llu of %llu", (unsigned long long)m, (unsigned long long)n);
            EXPECT(!hl_merkle_verify_inclusion(m, n, leaf, path, count - 1, root), "a hash short, %llu of %llu",
                   (unsigned long long)m, (unsigned long long)n);
        }
        path[count] = path[0].len ? path[0] : (ProtobufCBinaryData){HL_HASH_BYTES, root};
        EXPECT(!hl_merkle_verify_inclusion(m, n, leaf, path, count + 1, root), "a hash too many, %llu of %llu",
               (unsigned long long)m, (unsigned long long)n);
        leaf[0] ^= 1;
        EXPECT(!hl_merkle_verify_inclusion(m, n, leaf, path, count, root), "another leaf");
    }
    /* A path element that is not 32 bytes fails even where its value is never read to the end. */
    uint8_t root[HL_HASH_BYTES], leaf[HL_HASH_BYTES], storage[8][HL_HASH_BYTES];
    ProtobufCBinaryData path[8];
    vector_path(inclusion_vectors[1].path, inclusion_vectors[1].count, storage, path);
    root_of(2, root);
    leaf_of(0, leaf);
    path[0].len = 31;
    EXPECT(!hl_merkle_verify_inclusion(0, 2, leaf, path, 1, root), "a 31-byte hash");
}

static void every_rfc9162_consistency_vector_verifies_and_every_tampering_fails(void) {
    for (size_t v = 0; v < VECTOR_COUNT(consistency_vectors); v++) {
        const struct consistency_vector *vector = &consistency_vectors[v];
        uint8_t storage[8][HL_HASH_BYTES], first_root[HL_HASH_BYTES], second_root[HL_HASH_BYTES];
        ProtobufCBinaryData path[8];
        size_t count = vector_path(vector->path, vector->count, storage, path);
        uint64_t m = vector->first, n = vector->second;
        root_of(m, first_root);
        root_of(n, second_root);
        EXPECT(hl_merkle_verify_consistency(m, n, first_root, second_root, path, count), "%llu -> %llu",
               (unsigned long long)m, (unsigned long long)n);
        for (size_t i = 0; i < count; i++) {
            storage[i][31 - i] ^= 0x01;
            EXPECT(!hl_merkle_verify_consistency(m, n, first_root, second_root, path, count),
                   "hash %zu flipped, %llu -> %llu", i, (unsigned long long)m, (unsigned long long)n);
            storage[i][31 - i] ^= 0x01;
        }
        if (m < n) {
            EXPECT(!hl_merkle_verify_consistency(m, n, second_root, first_root, path, count), "roots swapped");
            EXPECT(!hl_merkle_verify_consistency(m, n, first_root, second_root, path, 0), "an empty path");
            EXPECT(!hl_merkle_verify_consistency(m, n, first_root, second_root, path, count - 1), "a hash short");
            uint8_t forked[HL_HASH_BYTES];
            memcpy(forked, first_root, sizeof forked);
            forked[7] ^= 0x80;
            EXPECT(!hl_merkle_verify_consistency(m, n, forked, second_root, path, count), "a forked first root");
        } else {
            uint8_t other[HL_HASH_BYTES];
            memcpy(other, second_root, sizeof other);
            other[0] ^= 1;
            EXPECT(!hl_merkle_verify_consistency(m, n, first_root, other, path, 0), "equal sizes, other roots");
        }
        EXPECT(!hl_merkle_verify_consistency(n, m, second_root, first_root, path, count) || m == n, "sizes reversed");
        EXPECT(!hl_merkle_verify_consistency(0, n, first_root, second_root, path, count), "first size 0");
    }
}

/* A node key for the checkpoint tests, the trust pinning it, and its signatures. */
typedef struct test_node {
    EVP_PKEY *key;
    hl_trust trust;
} test_node;

static test_node new_test_node(const char *chain_id) {
    test_node node = {.key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")};
    uint8_t public_key[32];
    size_t length = sizeof public_key;
    EVP_PKEY_get_raw_public_key(node.key, public_key, &length);
    snprintf(node.trust.chain_id, sizeof node.trust.chain_id, "%s", chain_id);
    hl_error error;
    EXPECT(hl_trust_pin_key(&node.trust, HL_KEY_ED25519, public_key, length, &error) == 0, "%s", error.message);
    return node;
}

static void free_test_node(test_node *node) {
    EVP_PKEY_free(node->key);
    hl_trust_free(&node->trust);
}

/* A SignedCheckpoint of `chain_id` (packed Checkpoint, signature by `node`); its buffers are malloc'd. */
static Healthledger__V1__SignedCheckpoint *sign_checkpoint(const test_node *node, const char *chain_id,
                                                           uint64_t tree_size, const uint8_t root[HL_HASH_BYTES],
                                                           uint64_t block_height) {
    Healthledger__V1__Checkpoint checkpoint = HEALTHLEDGER__V1__CHECKPOINT__INIT;
    checkpoint.chain_id = (char *)chain_id;
    checkpoint.tree_size = tree_size;
    checkpoint.root_hash = (ProtobufCBinaryData){HL_HASH_BYTES, (uint8_t *)root};
    checkpoint.time_unix_ms = 1700000000000;
    checkpoint.block_height = block_height;
    Healthledger__V1__SignedCheckpoint *signed_checkpoint = calloc(1, sizeof *signed_checkpoint);
    healthledger__v1__signed_checkpoint__init(signed_checkpoint);
    signed_checkpoint->checkpoint.data = hl_pack(&checkpoint.base, &signed_checkpoint->checkpoint.len);
    size_t message_length = 0;
    uint8_t *message = hl_context_labelled("healthledger.v1.checkpoint", signed_checkpoint->checkpoint.data,
                                          signed_checkpoint->checkpoint.len, &message_length);
    signed_checkpoint->signature.data = malloc(HL_SIGNATURE_BYTES);
    signed_checkpoint->signature.len = HL_SIGNATURE_BYTES;
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    size_t signature_length = HL_SIGNATURE_BYTES;
    EXPECT(EVP_DigestSignInit(context, NULL, NULL, NULL, node->key) == 1 &&
               EVP_DigestSign(context, signed_checkpoint->signature.data, &signature_length, message,
                              message_length) == 1, "signing a checkpoint");
    EVP_MD_CTX_free(context);
    free(message);
    signed_checkpoint->node_key_id = strdup(node->trust.keys[0].key_id);
    return signed_checkpoint;
}

static void free_signed_checkpoint(Healthledger__V1__SignedCheckpoint *signed_checkpoint) {
    free(signed_checkpoint->checkpoint.data);
    free(signed_checkpoint->signature.data);
    free(signed_checkpoint->node_key_id);
    free(signed_checkpoint);
}

static bool refused_as(int outcome, const hl_error *error, const char *words) {
    return outcome != 0 && error->code == HL_STATUS_DATA_LOSS && error->origin == HL_ORIGIN_VERIFICATION &&
           strstr(error->message, words) != NULL;
}

static void a_checkpoint_verifies_only_under_a_pinned_key_and_its_chain(void) {
    test_node node = new_test_node("c-unit"), other = new_test_node("c-unit");
    uint8_t root[HL_HASH_BYTES];
    root_of(8, root);
    Healthledger__V1__SignedCheckpoint *signed_checkpoint = sign_checkpoint(&node, "c-unit", 8, root, 3);
    Healthledger__V1__Checkpoint *checkpoint = NULL;
    hl_error error = {0};
    EXPECT(hl_verify_signed_checkpoint(&node.trust, signed_checkpoint, &checkpoint, &error) == 0, "%s", error.message);
    EXPECT(checkpoint != NULL && checkpoint->tree_size == 8 && checkpoint->block_height == 3, "decoded");
    if (checkpoint) healthledger__v1__checkpoint__free_unpacked(checkpoint, NULL);

    int outcome = hl_verify_signed_checkpoint(&other.trust, signed_checkpoint, &checkpoint, &error);
    EXPECT(refused_as(outcome, &error, "not pinned") && checkpoint == NULL, "another node's key: %s", error.message);
    /* The right key id, but the bytes of another key pinned under it. */
    memcpy(other.trust.keys[0].key_id, node.trust.keys[0].key_id, sizeof other.trust.keys[0].key_id);
    outcome = hl_verify_signed_checkpoint(&other.trust, signed_checkpoint, &checkpoint, &error);
    EXPECT(refused_as(outcome, &error, "does not verify"), "wrong key: %s", error.message);

    signed_checkpoint->signature.data[10] ^= 1;
    outcome = hl_verify_signed_checkpoint(&node.trust, signed_checkpoint, &checkpoint, &error);
    EXPECT(refused_as(outcome, &error, "does not verify"), "tampered signature: %s", error.message);
    signed_checkpoint->signature.data[10] ^= 1;
    signed_checkpoint->checkpoint.data[signed_checkpoint->checkpoint.len - 1] ^= 1;
    outcome = hl_verify_signed_checkpoint(&node.trust, signed_checkpoint, &checkpoint, &error);
    EXPECT(refused_as(outcome, &error, "does not verify"), "tampered checkpoint: %s", error.message);
    free_signed_checkpoint(signed_checkpoint);

    signed_checkpoint = sign_checkpoint(&node, "c-other", 8, root, 3);
    outcome = hl_verify_signed_checkpoint(&node.trust, signed_checkpoint, &checkpoint, &error);
    EXPECT(refused_as(outcome, &error, "chain \"c-other\""), "another chain: %s", error.message);
    free_signed_checkpoint(signed_checkpoint);
    EXPECT(hl_trust_pin_key(&node.trust, HL_KEY_ECDSA_P256, root, 32, &error) != 0, "only Ed25519 node keys");
    free_test_node(&node);
    free_test_node(&other);
}

static Healthledger__V1__InclusionProof vector_inclusion(uint64_t leaf_index, uint64_t tree_size,
                                                         uint8_t storage[8][HL_HASH_BYTES],
                                                         ProtobufCBinaryData path[8]) {
    Healthledger__V1__InclusionProof inclusion = HEALTHLEDGER__V1__INCLUSION_PROOF__INIT;
    for (size_t v = 0; v < VECTOR_COUNT(inclusion_vectors); v++) {
        if (inclusion_vectors[v].leaf_index == leaf_index && inclusion_vectors[v].tree_size == tree_size) {
            inclusion.n_audit_path = vector_path(inclusion_vectors[v].path, inclusion_vectors[v].count, storage, path);
        }
    }
    inclusion.leaf_index = leaf_index;
    inclusion.tree_size = tree_size;
    inclusion.audit_path = path;
    return inclusion;
}

static void an_entry_proof_leads_to_a_signed_checkpoint_of_its_block_or_a_later_one(void) {
    test_node node = new_test_node("c-unit");
    uint8_t root[HL_HASH_BYTES], storage[8][HL_HASH_BYTES], entry[32];
    ProtobufCBinaryData path[8];
    root_of(8, root);
    size_t entry_length = from_hex(vector_leaves[5], entry);
    Healthledger__V1__InclusionProof inclusion = vector_inclusion(5, 8, storage, path);
    Healthledger__V1__EntryProof proof = HEALTHLEDGER__V1__ENTRY_PROOF__INIT;
    proof.inclusion = &inclusion;
    proof.checkpoint = sign_checkpoint(&node, "c-unit", 8, root, 3);
    Healthledger__V1__Checkpoint *checkpoint = NULL;
    hl_error error = {0};
    for (uint64_t height = 2; height <= 3; height++) {
        EXPECT(hl_verify_entry_proof(&node.trust, entry, entry_length, 5, height, &proof, &checkpoint, &error) == 0,
               "block %llu: %s", (unsigned long long)height, error.message);
        if (checkpoint) healthledger__v1__checkpoint__free_unpacked(checkpoint, NULL);
    }
    int outcome = hl_verify_entry_proof(&node.trust, entry, entry_length, 5, 4, &proof, &checkpoint, &error);
    EXPECT(refused_as(outcome, &error, "ends block 3"), "a checkpoint before the entry's block: %s", error.message);
    outcome = hl_verify_entry_proof(&node.trust, entry, entry_length, 4, 3, &proof, &checkpoint, &error);
    EXPECT(refused_as(outcome, &error, "leaf 5"), "another entry index: %s", error.message);
    storage[1][0] ^= 1;
    outcome = hl_verify_entry_proof(&node.trust, entry, entry_length, 5, 3, &proof, &checkpoint, &error);
    EXPECT(refused_as(outcome, &error, "does not lead to the signed root"), "tampered path: %s", error.message);
    storage[1][0] ^= 1;
    entry[0] ^= 1;
    outcome = hl_verify_entry_proof(&node.trust, entry, entry_length, 5, 3, &proof, &checkpoint, &error);
    EXPECT(refused_as(outcome, &error, "does not lead to the signed root"), "another entry: %s", error.message);
    free_signed_checkpoint(proof.checkpoint);
    free_test_node(&node);
}

static void a_receipt_must_hold_the_transaction_that_was_sent(void) {
    test_node node = new_test_node("c-unit");
    uint8_t body[] = "a transaction body", signature[HL_SIGNATURE_BYTES] = {7}, salt[16] = {1, 2, 3};
    Healthledger__V1__SignedTransaction sent = HEALTHLEDGER__V1__SIGNED_TRANSACTION__INIT;
    sent.body = (ProtobufCBinaryData){sizeof body - 1, body};
    sent.signature = (ProtobufCBinaryData){sizeof signature, signature};
    sent.key_id = "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9";
    Healthledger__V1__LedgerEntry ledger_entry = HEALTHLEDGER__V1__LEDGER_ENTRY__INIT;
    ledger_entry.salt = (ProtobufCBinaryData){sizeof salt, salt};
    ledger_entry.entry_case = HEALTHLEDGER__V1__LEDGER_ENTRY__ENTRY_TRANSACTION;
    ledger_entry.transaction = &sent;
    size_t entry_length = 0;
    uint8_t *entry = hl_pack(&ledger_entry.base, &entry_length);
    /* A log of two entries, this one first: root = H(0x01 || leaf(entry) || leaf(other)). */
    uint8_t leaf[HL_HASH_BYTES], sibling[HL_HASH_BYTES], root[HL_HASH_BYTES];
    hl_merkle_leaf_hash(entry, entry_length, leaf);
    hl_merkle_leaf_hash((const uint8_t *)"other", 5, sibling);
    hl_merkle_node_hash(leaf, sibling, root);
    ProtobufCBinaryData path[1] = {{HL_HASH_BYTES, sibling}};
    Healthledger__V1__InclusionProof inclusion = HEALTHLEDGER__V1__INCLUSION_PROOF__INIT;
    inclusion.tree_size = 2;
    inclusion.n_audit_path = 1;
    inclusion.audit_path = path;
    Healthledger__V1__EntryProof proof = HEALTHLEDGER__V1__ENTRY_PROOF__INIT;
    proof.inclusion = &inclusion;
    proof.checkpoint = sign_checkpoint(&node, "c-unit", 2, root, 1);
    uint8_t digest[32];
    char transaction_id[HL_HEX_ID_LENGTH + 1];
    hl_sha256(body, sizeof body - 1, digest);
    hl_hex(digest, sizeof digest, transaction_id);
    Healthledger__V1__TransactionReceipt receipt = HEALTHLEDGER__V1__TRANSACTION_RECEIPT__INIT;
    receipt.transaction_id = transaction_id;
    receipt.block_height = 1;
    receipt.ledger_entry = (ProtobufCBinaryData){entry_length, entry};
    receipt.proof = &proof;
    Healthledger__V1__Checkpoint *checkpoint = NULL;
    hl_error error = {0};
    EXPECT(hl_verify_receipt(&node.trust, &receipt, &sent, transaction_id, &checkpoint, &error) == 0, "%s",
           error.message);
    if (checkpoint) healthledger__v1__checkpoint__free_unpacked(checkpoint, NULL);

    /* The same body with another signature is not what was sent. */
    signature[0] ^= 1;
    int outcome = hl_verify_receipt(&node.trust, &receipt, &sent, transaction_id, &checkpoint, &error);
    EXPECT(refused_as(outcome, &error, "does not hold the signed transaction"), "%s", error.message);
    signature[0] ^= 1;
    receipt.proof = NULL;
    outcome = hl_verify_receipt(&node.trust, &receipt, &sent, transaction_id, &checkpoint, &error);
    EXPECT(refused_as(outcome, &error, "carries no proof"), "%s", error.message);
    receipt.proof = &proof;
    receipt.transaction_id = "00";
    outcome = hl_verify_receipt(&node.trust, &receipt, &sent, transaction_id, &checkpoint, &error);
    EXPECT(refused_as(outcome, &error, "names transaction"), "%s", error.message);
    free(entry);
    free_signed_checkpoint(proof.checkpoint);
    free_test_node(&node);
}

/* A GetConsistencyProof answer between vector tree sizes, signed by `node`, roots as given. */
static Healthledger__V1__GetConsistencyProofResponse consistency_answer(
    const test_node *node, uint64_t first, const uint8_t first_root[HL_HASH_BYTES], uint64_t second,
    const uint8_t second_root[HL_HASH_BYTES], Healthledger__V1__ConsistencyProof *proof,
    uint8_t storage[8][HL_HASH_BYTES], ProtobufCBinaryData path[8]) {
    healthledger__v1__consistency_proof__init(proof);
    for (size_t v = 0; v < VECTOR_COUNT(consistency_vectors); v++) {
        if (consistency_vectors[v].first == first && consistency_vectors[v].second == second) {
            proof->n_consistency_path =
                vector_path(consistency_vectors[v].path, consistency_vectors[v].count, storage, path);
        }
    }
    proof->first_tree_size = first;
    proof->second_tree_size = second;
    proof->consistency_path = path;
    Healthledger__V1__GetConsistencyProofResponse response = HEALTHLEDGER__V1__GET_CONSISTENCY_PROOF_RESPONSE__INIT;
    response.proof = proof;
    response.first_checkpoint = sign_checkpoint(node, "c-unit", first, first_root, first);
    response.second_checkpoint = sign_checkpoint(node, "c-unit", second, second_root, second);
    return response;
}

static void free_consistency_answer(Healthledger__V1__GetConsistencyProofResponse *response) {
    free_signed_checkpoint(response->first_checkpoint);
    free_signed_checkpoint(response->second_checkpoint);
}

static Healthledger__V1__Checkpoint plain_checkpoint(uint64_t tree_size, uint8_t root[HL_HASH_BYTES]) {
    Healthledger__V1__Checkpoint checkpoint = HEALTHLEDGER__V1__CHECKPOINT__INIT;
    checkpoint.chain_id = "c-unit";
    checkpoint.tree_size = tree_size;
    checkpoint.root_hash = (ProtobufCBinaryData){HL_HASH_BYTES, root};
    checkpoint.block_height = tree_size;
    return checkpoint;
}

static void a_newer_checkpoint_is_trusted_only_when_it_extends_the_trusted_log(void) {
    test_node node = new_test_node("c-unit");
    uint8_t root3[HL_HASH_BYTES], root8[HL_HASH_BYTES], forked8[HL_HASH_BYTES], storage[8][HL_HASH_BYTES];
    ProtobufCBinaryData path[8];
    Healthledger__V1__ConsistencyProof proof;
    root_of(3, root3);
    root_of(8, root8);
    memcpy(forked8, root8, sizeof forked8);
    forked8[3] ^= 0x10;
    hl_error error = {0};
    uint64_t first = 0, second = 0;

    Healthledger__V1__Checkpoint at3 = plain_checkpoint(3, root3), at8 = plain_checkpoint(8, root8);
    EXPECT(hl_trust_proof_needed(&node.trust, &at3, &first, &second, &error) == 0, "nothing trusted yet");
    hl_trust_adopt(&node.trust, &at3);
    EXPECT(node.trust.has_checkpoint && node.trust.checkpoint.tree_size == 3, "the first checkpoint is trusted");
    EXPECT(hl_trust_proof_needed(&node.trust, &at3, &first, &second, &error) == 0, "the same checkpoint again");
    EXPECT(hl_trust_proof_needed(&node.trust, &at8, &first, &second, &error) == 1 && first == 3 && second == 8,
           "3 -> 8");

    Healthledger__V1__GetConsistencyProofResponse answer =
        consistency_answer(&node, 3, root3, 8, root8, &proof, storage, path);
    storage[0][5] ^= 1;
    int outcome = hl_trust_join(&node.trust, &at8, &answer, &error);
    EXPECT(refused_as(outcome, &error, "history mismatch: tree size 3 (root") && node.trust.checkpoint.tree_size == 3,
           "a tampered proof: %s", error.message);
    storage[0][5] ^= 1;
    EXPECT(hl_trust_join(&node.trust, &at8, &answer, &error) == 0 && node.trust.checkpoint.tree_size == 8 &&
               memcmp(node.trust.checkpoint.root_hash, root8, HL_HASH_BYTES) == 0, "3 -> 8: %s", error.message);
    free_consistency_answer(&answer);

    outcome = hl_trust_check_head(&node.trust, &at3, &error);
    EXPECT(refused_as(outcome, &error, "is behind the checkpoint trusted before (tree size 8"),
           "a rolled-back head: %s", error.message);
    EXPECT(hl_trust_check_head(&node.trust, &at8, &error) == 0, "a head of the trusted size");
    /* A fork: the same size with another root. */
    Healthledger__V1__Checkpoint fork = plain_checkpoint(8, forked8);
    outcome = hl_trust_proof_needed(&node.trust, &fork, &first, &second, &error);
    EXPECT(refused_as(outcome, &error, "history mismatch") && strstr(error.message, "tree size 8, root ") &&
               strstr(error.message, "forked"), "%s", error.message);
    /* An older checkpoint must be a prefix of the trusted log, and a node whose older checkpoint differs from the
     * one it now proves against is caught too. */
    answer = consistency_answer(&node, 3, root3, 8, forked8, &proof, storage, path);
    outcome = hl_trust_join(&node.trust, &at3, &answer, &error);
    EXPECT(refused_as(outcome, &error, "history mismatch") && node.trust.checkpoint.tree_size == 8, "%s",
           error.message);
    free_consistency_answer(&answer);
    answer = consistency_answer(&node, 3, root3, 8, root8, &proof, storage, path);
    EXPECT(hl_trust_join(&node.trust, &at3, &answer, &error) == 0 && node.trust.checkpoint.tree_size == 8,
           "an older checkpoint keeps the newer trusted: %s", error.message);
    free_consistency_answer(&answer);
    /* A proof of other sizes than asked. */
    uint8_t root5[HL_HASH_BYTES];
    root_of(5, root5);
    Healthledger__V1__Checkpoint at5 = plain_checkpoint(5, root5);
    answer = consistency_answer(&node, 3, root3, 8, root8, &proof, storage, path);
    outcome = hl_trust_join(&node.trust, &at5, &answer, &error);
    EXPECT(refused_as(outcome, &error, "asked 5->8"), "%s", error.message);
    free_consistency_answer(&answer);
    free_test_node(&node);
}

static void the_checkpoint_file_keeps_chain_keys_and_checkpoint(void) {
    test_node node = new_test_node("c-unit");
    root_of(8, node.trust.checkpoint.root_hash);
    node.trust.checkpoint.tree_size = 8;
    node.trust.checkpoint.block_height = 4;
    node.trust.has_checkpoint = true;
    char directory[] = "/tmp/hl-checkpoint-XXXXXX";
    EXPECT(mkdtemp(directory) != NULL, "mkdtemp");
    char path[64];
    snprintf(path, sizeof path, "%s/trust.txt", directory);
    hl_error error = {0};
    EXPECT(hl_trust_save(&node.trust, path, &error) == 0, "%s", error.message);
    struct stat status;
    EXPECT(stat(path, &status) == 0 && (status.st_mode & 0777) == 0600, "mode 0600");
    hl_trust loaded = {0};
    bool found = false;
    EXPECT(hl_trust_load(&loaded, path, &found, &error) == 0 && found, "%s", error.message);
    EXPECT(strcmp(loaded.chain_id, "c-unit") == 0 && loaded.key_count == 1 &&
               strcmp(loaded.keys[0].key_id, node.trust.keys[0].key_id) == 0 && loaded.has_checkpoint &&
               loaded.checkpoint.tree_size == 8 && loaded.checkpoint.block_height == 4 &&
               memcmp(loaded.checkpoint.root_hash, node.trust.checkpoint.root_hash, HL_HASH_BYTES) == 0 &&
               strcmp(loaded.checkpoint.chain_id, "c-unit") == 0, "round trip");
    hl_trust_free(&loaded);

    char *text = hl_trust_format(&node.trust);
    char *root_line = strstr(text, "root-hash: ");
    root_line[12] = 'x';
    EXPECT(hl_trust_parse(&loaded, text, "t", &error) != 0 && error.code == HL_STATUS_INVALID_ARGUMENT &&
               strstr(error.message, "damaged") && loaded.key_count == 0, "a damaged root: %s", error.message);
    *strstr(text, "tree-size") = '#';
    EXPECT(hl_trust_parse(&loaded, text, "t", &error) != 0, "half a checkpoint");
    free(text);
    EXPECT(hl_trust_parse(&loaded, "chain-id: c-unit\n", "t", &error) != 0 && strstr(error.message, "not a complete"),
           "no format line: %s", error.message);
    unlink(path);
    EXPECT(hl_trust_load(&loaded, path, &found, &error) == 0 && !found, "a missing file loads nothing");
    rmdir(directory);
    free_test_node(&node);
}

int main(void) {
    given_the_identity_proto_vector_then_key_id_and_principal_id_match();
    principal_ids_are_accepted_only_in_their_exact_form();
    the_session_message_is_context_labelled();
    an_identity_file_loads_and_signs_as_rfc8032_says();
    a_generated_p256_identity_signs_raw_r_and_s_that_verify();
    a_der_signature_with_short_integers_is_left_padded();
    a_write_body_is_the_deterministic_encoding_python_makes();
    an_optional_field_set_to_its_default_is_written();
    grpc_messages_are_found_however_the_body_is_cut();
    a_framed_request_has_the_five_byte_prefix();
    statuses_and_messages_map_as_grpc_says();
    names_are_spelled_as_the_command_line_spells_them();
    every_rfc9162_inclusion_vector_verifies_and_every_tampering_fails();
    every_rfc9162_consistency_vector_verifies_and_every_tampering_fails();
    a_checkpoint_verifies_only_under_a_pinned_key_and_its_chain();
    an_entry_proof_leads_to_a_signed_checkpoint_of_its_block_or_a_later_one();
    a_receipt_must_hold_the_transaction_that_was_sent();
    a_newer_checkpoint_is_trusted_only_when_it_extends_the_trusted_log();
    the_checkpoint_file_keeps_chain_keys_and_checkpoint();
    if (failures) {
        fprintf(stderr, "unit tests: %d failed\n", failures);
        return 1;
    }
    printf("unit tests: all passed\n");
    return 0;
}
