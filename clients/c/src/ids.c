/* Ids of identity.proto: key ids (hex SHA-256) and principal ids (Bech32m, BIP-350, under "hl"); the names of
 * categories and purposes as the healthledger command spells them. */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include "internal.h"

static const char bech32_charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
static const uint32_t bech32m_constant = 0x2bc830a3u;
static const uint32_t bech32_generator[5] = {0x3b6a57b2u, 0x26508e6du, 0x1ea119fau, 0x3d4233ddu, 0x2a1462b3u};
static const size_t principal_payload_bytes = 20;

void hl_sha256(const uint8_t *bytes, size_t length, uint8_t digest[32]) {
    SHA256(bytes, length, digest);
}

int64_t hl_now_unix_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

void hl_hex(const uint8_t *bytes, size_t length, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < length; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * length] = '\0';
}

void hl_key_id(const uint8_t *key_bytes, size_t length, char out[HL_HEX_ID_LENGTH + 1]) {
    uint8_t digest[32];
    hl_sha256(key_bytes, length, digest);
    hl_hex(digest, sizeof digest, out);
}

static uint32_t polymod_step(uint32_t checksum, uint8_t value) {
    uint32_t top = checksum >> 25;
    checksum = ((checksum & 0x1ffffffu) << 5) ^ value;
    for (int bit = 0; bit < 5; bit++) {
        if ((top >> bit) & 1u) checksum ^= bech32_generator[bit];
    }
    return checksum;
}

static uint32_t hrp_polymod(const char *hrp) {
    uint32_t checksum = 1;
    for (const char *c = hrp; *c; c++) checksum = polymod_step(checksum, (uint8_t)(*c >> 5));
    checksum = polymod_step(checksum, 0);
    for (const char *c = hrp; *c; c++) checksum = polymod_step(checksum, (uint8_t)(*c & 31));
    return checksum;
}

void hl_bech32m_encode(const char *hrp, const uint8_t *payload, size_t length, char *out) {
    size_t position = strlen(hrp);
    memcpy(out, hrp, position);
    out[position++] = '1';
    uint32_t checksum = hrp_polymod(hrp);
    uint32_t accumulator = 0;
    int bits = 0;
    for (size_t i = 0; i < length; i++) {
        accumulator = (accumulator << 8) | payload[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            uint8_t value = (uint8_t)((accumulator >> bits) & 31u);
            checksum = polymod_step(checksum, value);
            out[position++] = bech32_charset[value];
        }
    }
    if (bits > 0) {
        uint8_t value = (uint8_t)((accumulator << (5 - bits)) & 31u);
        checksum = polymod_step(checksum, value);
        out[position++] = bech32_charset[value];
    }
    for (int i = 0; i < 6; i++) checksum = polymod_step(checksum, 0);
    checksum ^= bech32m_constant;
    for (int i = 0; i < 6; i++) out[position++] = bech32_charset[(checksum >> (5 * (5 - i))) & 31u];
    out[position] = '\0';
}

void hl_principal_id(const uint8_t *key_bytes, size_t length, char out[HL_PRINCIPAL_ID_LENGTH + 1]) {
    uint8_t digest[32];
    hl_sha256(key_bytes, length, digest);
    hl_bech32m_encode("hl", digest, principal_payload_bytes, out);
}

int hl_principal_id_check(const char *text, hl_error *error) {
    if (text == NULL) return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT, "no principal id");
    size_t length = strlen(text);
    for (size_t i = 0; i < length; i++) {
        if (isupper((unsigned char)text[i])) {
            return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                                "principal id %.64s must be lowercase", text);
        }
    }
    if (length != HL_PRINCIPAL_ID_LENGTH) {
        return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                            "principal id %.64s has %zu characters, a principal id has %d", text, length,
                            HL_PRINCIPAL_ID_LENGTH);
    }
    if (strncmp(text, "hl1", 3) != 0) {
        return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                            "principal id %s does not start with \"hl1\"", text);
    }
    uint32_t checksum = hrp_polymod("hl");
    for (size_t i = 3; i < length; i++) {
        const char *found = strchr(bech32_charset, text[i]);
        if (found == NULL) {
            return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                                "principal id %s: character '%c' is outside the Bech32 alphabet", text, text[i]);
        }
        uint8_t value = (uint8_t)(found - bech32_charset);
        checksum = polymod_step(checksum, value);
    }
    if (checksum != bech32m_constant) {
        return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT, "principal id %s: bad checksum",
                            text);
    }
    /* 32 data characters are 160 bits, exactly the 20-byte payload: there are no padding bits to check. */
    return 0;
}

static const char *const category_names[] = {
    [HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_DEMOGRAPHICS] = "demographics",
    [HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_CONDITIONS] = "conditions",
    [HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_MEDICATIONS] = "medications",
    [HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_ALLERGIES] = "allergies",
    [HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_LABS] = "labs",
    [HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_IMAGING] = "imaging",
    [HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_VITALS] = "vitals",
    [HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_IMMUNIZATIONS] = "immunizations",
    [HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_PROCEDURES] = "procedures",
    [HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_CLINICAL_NOTES] = "clinical-notes",
    [HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_MENTAL_HEALTH] = "mental-health",
    [HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_SEXUAL_HEALTH] = "sexual-health",
    [HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_SUBSTANCE_USE] = "substance-use",
    [HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_GENOMICS] = "genomics",
};

static const char *const purpose_names[] = {
    [HEALTHLEDGER__V1__PURPOSE__PURPOSE_TREATMENT] = "treatment",
    [HEALTHLEDGER__V1__PURPOSE__PURPOSE_EMERGENCY] = "emergency",
    [HEALTHLEDGER__V1__PURPOSE__PURPOSE_RESEARCH] = "research",
    [HEALTHLEDGER__V1__PURPOSE__PURPOSE_PAYMENT] = "payment",
    [HEALTHLEDGER__V1__PURPOSE__PURPOSE_OPERATIONS] = "operations",
    [HEALTHLEDGER__V1__PURPOSE__PURPOSE_PATIENT_REQUEST] = "patient-request",
};

/* Case-insensitive equality where '_' in `given` stands for '-'. */
static bool same_name(const char *given, const char *name) {
    for (; *given && *name; given++, name++) {
        char c = (char)tolower((unsigned char)*given);
        if (c == '_') c = '-';
        if (c != *name) return false;
    }
    return *given == '\0' && *name == '\0';
}

Healthledger__V1__DataCategory hl_category_from_name(const char *name) {
    if (same_name(name, "all")) return HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_ALL;
    for (size_t i = 1; i < sizeof category_names / sizeof category_names[0]; i++) {
        if (category_names[i] && same_name(name, category_names[i])) return (Healthledger__V1__DataCategory)i;
    }
    return HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_UNSPECIFIED;
}

const char *hl_category_name(Healthledger__V1__DataCategory category) {
    if (category == HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_ALL) return "all";
    if ((size_t)category < sizeof category_names / sizeof category_names[0] && category_names[category]) {
        return category_names[category];
    }
    return "unspecified";
}

Healthledger__V1__Purpose hl_purpose_from_name(const char *name) {
    for (size_t i = 1; i < sizeof purpose_names / sizeof purpose_names[0]; i++) {
        if (same_name(name, purpose_names[i])) return (Healthledger__V1__Purpose)i;
    }
    return HEALTHLEDGER__V1__PURPOSE__PURPOSE_UNSPECIFIED;
}
