/* Unit tests of libhealthledger's pure parts: the contract's test vectors (ids, encodings, signatures), gRPC
 * framing cut at every byte, and error mapping. Built with AddressSanitizer and UBSan by `make check`. */
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
    if (failures) {
        fprintf(stderr, "unit tests: %d failed\n", failures);
        return 1;
    }
    printf("unit tests: all passed\n");
    return 0;
}
