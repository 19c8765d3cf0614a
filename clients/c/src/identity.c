/* Identity files and signatures: the text format of the healthledger command (docs/CLI.md), Ed25519 and ECDSA
 * P-256 keys through OpenSSL's EVP interface, and the contract's raw 64-byte signature form. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "internal.h"

#define MAX_IDENTITY_FILE_BYTES (64 * 1024)
#define MAX_PUBLIC_KEY_BYTES 65

static const char file_comment[] = "# HealthLedger identity. Keep this file secret: it signs for the principal below.";

struct hl_identity {
    EVP_PKEY *key;
    hl_key_algorithm algorithm;
    uint8_t public_key[MAX_PUBLIC_KEY_BYTES];
    size_t public_key_length;
    char key_id[HL_HEX_ID_LENGTH + 1];
    char principal_id[HL_PRINCIPAL_ID_LENGTH + 1];
};

static const char *algorithm_name(hl_key_algorithm algorithm) {
    return algorithm == HL_KEY_ED25519 ? "ed25519" : "p256";
}

/* The last OpenSSL error as text, for messages; empties OpenSSL's error queue. */
static const char *openssl_reason(char *out, size_t capacity) {
    unsigned long code = ERR_peek_last_error();
    if (code == 0) {
        snprintf(out, capacity, "no detail from OpenSSL");
    } else {
        ERR_error_string_n(code, out, capacity);
    }
    ERR_clear_error();
    return out;
}

/* Reads the key's algorithm and raw public key bytes in the contract's formats. */
static int describe_key(hl_identity *identity, const char *path, hl_error *error) {
    char reason[256];
    if (EVP_PKEY_get_base_id(identity->key) == EVP_PKEY_ED25519) {
        identity->algorithm = HL_KEY_ED25519;
        identity->public_key_length = 32;
        if (EVP_PKEY_get_raw_public_key(identity->key, identity->public_key, &identity->public_key_length) != 1) {
            return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                                "identity file %s: cannot read the Ed25519 public key: %s", path,
                                openssl_reason(reason, sizeof reason));
        }
    } else if (EVP_PKEY_get_base_id(identity->key) == EVP_PKEY_EC) {
        char group[64] = "";
        size_t group_length = 0;
        if (EVP_PKEY_get_utf8_string_param(identity->key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                           &group_length) != 1 ||
            strcmp(group, SN_X9_62_prime256v1) != 0) {
            ERR_clear_error();
            return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                                "identity file %s holds an ECDSA key on %s; only P-256 (prime256v1) signs", path,
                                group[0] ? group : "an unknown curve");
        }
        identity->algorithm = HL_KEY_ECDSA_P256;
        /* Uncompressed SEC1 point 0x04 || X || Y, OpenSSL's default point form for EC keys. */
        if (EVP_PKEY_get_octet_string_param(identity->key, OSSL_PKEY_PARAM_PUB_KEY, identity->public_key,
                                            sizeof identity->public_key, &identity->public_key_length) != 1 ||
            identity->public_key_length != 65 || identity->public_key[0] != 0x04) {
            return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                                "identity file %s: cannot read the P-256 public key as an uncompressed point: %s",
                                path, openssl_reason(reason, sizeof reason));
        }
    } else {
        return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                            "identity file %s holds a %s key; only Ed25519 and ECDSA P-256 keys sign for principals",
                            path, EVP_PKEY_get0_type_name(identity->key));
    }
    hl_key_id(identity->public_key, identity->public_key_length, identity->key_id);
    return 0;
}

static char *trim(char *text) {
    while (*text == ' ' || *text == '\t' || *text == '\r') text++;
    char *end = text + strlen(text);
    while (end > text && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) *--end = '\0';
    return text;
}

/* Parses the `name: value` header lines before the PEM block and checks them against the key. */
static int check_headers(hl_identity *identity, char *headers, const char *path, hl_error *error) {
    bool principal_given = false;
    for (char *line = strtok(headers, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char *trimmed = trim(line);
        if (*trimmed == '\0' || *trimmed == '#') continue;
        char *colon = strchr(trimmed, ':');
        if (colon == NULL) {
            return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                                "identity file %s: header line \"%.80s\" is not `name: value`", path, trimmed);
        }
        *colon = '\0';
        char *name = trim(trimmed);
        char *value = trim(colon + 1);
        for (char *c = name; *c; c++) *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        if (strcmp(name, "algorithm") == 0 && strcmp(value, algorithm_name(identity->algorithm)) != 0) {
            return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                                "identity file %s: header says algorithm %.32s but the key is %s", path, value,
                                algorithm_name(identity->algorithm));
        }
        if (strcmp(name, "key-id") == 0 && strcmp(value, identity->key_id) != 0) {
            return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                                "identity file %s: header key-id does not match the key", path);
        }
        if (strcmp(name, "principal") == 0) {
            hl_error reason;
            if (hl_principal_id_check(value, &reason) != 0) {
                return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT, "identity file %s: %s",
                                    path, reason.message);
            }
            memcpy(identity->principal_id, value, HL_PRINCIPAL_ID_LENGTH + 1);
            principal_given = true;
        }
    }
    if (!principal_given) {
        /* No header: the key is the principal's first key, from which its id derives. */
        hl_principal_id(identity->public_key, identity->public_key_length, identity->principal_id);
    }
    return 0;
}

static hl_identity *identity_from_text(char *text, const char *path, hl_error *error) {
    char *pem = strstr(text, "-----BEGIN ");
    if (pem == NULL) {
        hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT, "identity file %s: no PEM private key block",
                     path);
        return NULL;
    }
    hl_identity *identity = calloc(1, sizeof *identity);
    if (identity == NULL) {
        hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
        return NULL;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)strlen(pem));
    /* An empty passphrase callback: identity files hold unencrypted keys, and an encrypted one must fail, not
     * prompt on a device's terminal. */
    identity->key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"") : NULL;
    BIO_free(bio);
    if (identity->key == NULL) {
        char reason[256];
        hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                     "identity file %s: not an unencrypted PEM private key: %s", path,
                     openssl_reason(reason, sizeof reason));
        hl_identity_free(identity);
        return NULL;
    }
    *pem = '\0';
    if (describe_key(identity, path, error) != 0 || check_headers(identity, text, path, error) != 0) {
        hl_identity_free(identity);
        return NULL;
    }
    return identity;
}

hl_identity *hl_identity_load(const char *path, hl_error *error) {
    int descriptor = open(path, O_RDONLY | O_CLOEXEC);
    if (descriptor < 0) {
        hl_error_set(error, errno == ENOENT ? HL_STATUS_NOT_FOUND : HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                     "cannot open identity file %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat status;
    char *text = NULL;
    hl_identity *identity = NULL;
    if (fstat(descriptor, &status) != 0) {
        hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT, "cannot stat identity file %s: %s", path,
                     strerror(errno));
        goto done;
    }
    if (status.st_mode & 0077) {
        hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                     "identity file %s has mode %o: group or others may access the private key (hint: chmod 600 %s)",
                     path, (unsigned)(status.st_mode & 0777), path);
        goto done;
    }
    text = malloc(MAX_IDENTITY_FILE_BYTES + 1);
    if (text == NULL) {
        hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
        goto done;
    }
    size_t length = 0;
    for (;;) {
        ssize_t count = read(descriptor, text + length, MAX_IDENTITY_FILE_BYTES + 1 - length);
        if (count < 0 && errno == EINTR) continue;
        if (count < 0) {
            hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT, "cannot read identity file %s: %s",
                         path, strerror(errno));
            goto done;
        }
        if (count == 0) break;
        length += (size_t)count;
        if (length > MAX_IDENTITY_FILE_BYTES) {
            hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                         "identity file %s is larger than 64 KiB", path);
            goto done;
        }
    }
    text[length] = '\0';
    if (strlen(text) != length) {
        hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT, "identity file %s is not text", path);
        goto done;
    }
    identity = identity_from_text(text, path, error);
done:
    if (text != NULL) {
        OPENSSL_cleanse(text, MAX_IDENTITY_FILE_BYTES + 1);
        free(text);
    }
    close(descriptor);
    return identity;
}

hl_identity *hl_identity_generate(const char *path, hl_key_algorithm algorithm, hl_error *error) {
    hl_identity *identity = calloc(1, sizeof *identity);
    if (identity == NULL) {
        hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
        return NULL;
    }
    identity->key = algorithm == HL_KEY_ED25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
                                                : EVP_PKEY_Q_keygen(NULL, NULL, "EC", SN_X9_62_prime256v1);
    char reason[256];
    if (identity->key == NULL) {
        hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_CLIENT, "cannot generate a %s key: %s",
                     algorithm_name(algorithm), openssl_reason(reason, sizeof reason));
        goto fail;
    }
    if (describe_key(identity, path, error) != 0) goto fail;
    hl_principal_id(identity->public_key, identity->public_key_length, identity->principal_id);

    int descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (descriptor < 0) {
        hl_error_set(error, errno == EEXIST ? HL_STATUS_ALREADY_EXISTS : HL_STATUS_INVALID_ARGUMENT,
                     HL_ORIGIN_CLIENT, "cannot create identity file %s: %s%s", path, strerror(errno),
                     errno == EEXIST ? " (hint: the key in it is the only way to sign for its principal; choose "
                                       "another path)"
                                     : "");
        goto fail;
    }
    FILE *file = fdopen(descriptor, "w");
    if (file == NULL) {
        close(descriptor);
        hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_CLIENT, "cannot write %s: %s", path, strerror(errno));
        goto fail;
    }
    int written = fprintf(file, "%s\nprincipal: %s\nalgorithm: %s\nkey-id: %s\n", file_comment,
                          identity->principal_id, algorithm_name(algorithm), identity->key_id) > 0 &&
                  PEM_write_PrivateKey(file, identity->key, NULL, NULL, 0, NULL, NULL) == 1 && fflush(file) == 0 &&
                  fsync(descriptor) == 0;
    if (fclose(file) != 0 || !written) {
        unlink(path);
        hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_CLIENT, "cannot write identity file %s", path);
        ERR_clear_error();
        goto fail;
    }
    return identity;
fail:
    hl_identity_free(identity);
    return NULL;
}

void hl_identity_free(hl_identity *identity) {
    if (identity == NULL) return;
    EVP_PKEY_free(identity->key);
    free(identity);
}

const char *hl_identity_principal_id(const hl_identity *identity) { return identity->principal_id; }

const char *hl_identity_key_id(const hl_identity *identity) { return identity->key_id; }

hl_key_algorithm hl_identity_algorithm(const hl_identity *identity) { return identity->algorithm; }

const uint8_t *hl_identity_public_key(const hl_identity *identity, size_t *length) {
    *length = identity->public_key_length;
    return identity->public_key;
}

int hl_p256_signature_from_der(const uint8_t *der, size_t length, uint8_t raw[HL_SIGNATURE_BYTES],
                               hl_error *error) {
    const unsigned char *cursor = der;
    ECDSA_SIG *signature = d2i_ECDSA_SIG(NULL, &cursor, (long)length);
    if (signature == NULL || cursor != der + length) {
        ECDSA_SIG_free(signature);
        ERR_clear_error();
        return hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_CLIENT, "not a DER ECDSA signature");
    }
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(signature, &r, &s);
    int ok = BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32;
    ECDSA_SIG_free(signature);
    if (!ok) return hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_CLIENT, "ECDSA r or s exceeds 32 bytes");
    return 0;
}

int hl_identity_sign(const hl_identity *identity, const uint8_t *message, size_t length,
                     uint8_t signature[HL_SIGNATURE_BYTES], hl_error *error) {
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    /* Ed25519 is pure (no pre-hash): no digest. P-256 hashes with SHA-256 and answers in DER. */
    const EVP_MD *digest = identity->algorithm == HL_KEY_ED25519 ? NULL : EVP_sha256();
    uint8_t der[80];
    size_t signature_length = identity->algorithm == HL_KEY_ED25519 ? HL_SIGNATURE_BYTES : sizeof der;
    uint8_t *target = identity->algorithm == HL_KEY_ED25519 ? signature : der;
    int ok = context != NULL && EVP_DigestSignInit(context, NULL, digest, NULL, identity->key) == 1 &&
             EVP_DigestSign(context, target, &signature_length, message, length) == 1;
    EVP_MD_CTX_free(context);
    if (!ok) {
        char reason[256];
        return hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_CLIENT, "signing failed: %s",
                            openssl_reason(reason, sizeof reason));
    }
    if (identity->algorithm == HL_KEY_ECDSA_P256) return hl_p256_signature_from_der(der, signature_length, signature, error);
    return 0;
}

uint8_t *hl_context_labelled(const char *context, const uint8_t *payload, size_t payload_length, size_t *length) {
    size_t context_length = strlen(context);
    *length = 1 + context_length + 1 + payload_length;
    uint8_t *message = malloc(*length);
    if (message == NULL) return NULL;
    message[0] = 0x00;
    memcpy(message + 1, context, context_length);
    message[1 + context_length] = 0x00;
    if (payload_length > 0) memcpy(message + 2 + context_length, payload, payload_length);
    return message;
}

uint8_t *hl_session_message(const char *chain_id, const char *principal_id, const uint8_t *challenge,
                            size_t challenge_length, size_t *length) {
    size_t chain_length = strlen(chain_id), principal_length = strlen(principal_id);
    size_t payload_length = chain_length + 1 + principal_length + 1 + challenge_length;
    uint8_t *payload = malloc(payload_length);
    if (payload == NULL) return NULL;
    memcpy(payload, chain_id, chain_length);
    payload[chain_length] = 0x00;
    memcpy(payload + chain_length + 1, principal_id, principal_length);
    payload[chain_length + 1 + principal_length] = 0x00;
    if (challenge_length > 0) memcpy(payload + chain_length + principal_length + 2, challenge, challenge_length);
    uint8_t *message = hl_context_labelled("healthledger.v1.session", payload, payload_length, length);
    free(payload);
    return message;
}
