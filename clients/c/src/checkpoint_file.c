/* The checkpoint file: what a device trusts (chain id, pinned node keys, newest verified checkpoint) kept across
 * runs as `name: value` lines, written atomically so a crash leaves the old file or the new one, never a mix. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define FORMAT_NAME "healthledger.device-checkpoint.v1"
#define MAX_FILE_BYTES (256 * 1024)

char *hl_trust_format(const hl_trust *trust) {
    hl_buffer text = {0};
    char line[512];
    int failed = 0;
    snprintf(line, sizeof line,
             "# HealthLedger checkpoint file: the node keys pinned and the newest checkpoint verified. Every later\n"
             "# answer of the node must extend this log. Do not edit; remove it only to trust the node afresh.\n"
             "format: %s\nchain-id: %s\n", FORMAT_NAME, trust->chain_id);
    failed |= hl_buffer_append(&text, line, strlen(line));
    for (size_t i = 0; i < trust->key_count; i++) {
        char hex[2 * 32 + 1];
        hl_hex(trust->keys[i].bytes, trust->keys[i].length, hex);
        snprintf(line, sizeof line, "node-key: ed25519 %s\n", hex);
        failed |= hl_buffer_append(&text, line, strlen(line));
    }
    if (trust->has_checkpoint) {
        char root[2 * HL_HASH_BYTES + 1];
        hl_hex(trust->checkpoint.root_hash, HL_HASH_BYTES, root);
        snprintf(line, sizeof line, "tree-size: %" PRIu64 "\nroot-hash: %s\nblock-height: %" PRIu64 "\n",
                 trust->checkpoint.tree_size, root, trust->checkpoint.block_height);
        failed |= hl_buffer_append(&text, line, strlen(line));
    }
    failed |= hl_buffer_append(&text, "", 1);
    if (failed) {
        hl_buffer_free(&text);
        return NULL;
    }
    return (char *)text.bytes;
}

static bool parse_hex(const char *text, uint8_t *out, size_t length) {
    if (strlen(text) != 2 * length) return false;
    for (size_t i = 0; i < 2 * length; i++) {
        char c = text[i];
        int value = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (value < 0) return false;
        if (i % 2 == 0) out[i / 2] = (uint8_t)(value << 4);
        else out[i / 2] |= (uint8_t)value;
    }
    return true;
}

static bool parse_u64(const char *text, uint64_t *out) {
    if (*text < '0' || *text > '9') return false;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0') return false;
    *out = value;
    return true;
}

int hl_trust_parse(hl_trust *trust, const char *text, const char *path, hl_error *error) {
    char *copy = strdup(text);
    if (copy == NULL) return hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
    bool format = false, size = false, root = false, height = false;
    int line_number = 0, outcome = 0;
    char *saved = NULL;
    for (char *line = strtok_r(copy, "\n", &saved); line != NULL && outcome == 0; line = strtok_r(NULL, "\n", &saved)) {
        line_number++;
        if (*line == '\0' || *line == '#') continue;
        char *colon = strstr(line, ": ");
        if (colon == NULL) {
            outcome = -1;
            break;
        }
        *colon = '\0';
        const char *name = line, *value = colon + 2;
        if (strcmp(name, "format") == 0) {
            format = strcmp(value, FORMAT_NAME) == 0;
            if (!format) outcome = -1;
        } else if (strcmp(name, "chain-id") == 0) {
            if (strlen(value) == 0 || strlen(value) > HL_MAX_CHAIN_ID_LENGTH) outcome = -1;
            else snprintf(trust->chain_id, sizeof trust->chain_id, "%s", value);
        } else if (strcmp(name, "node-key") == 0) {
            uint8_t key[32];
            if (strncmp(value, "ed25519 ", 8) != 0 || !parse_hex(value + 8, key, sizeof key) ||
                hl_trust_pin_key(trust, HL_KEY_ED25519, key, sizeof key, error) != 0) {
                outcome = -1;
            }
        } else if (strcmp(name, "tree-size") == 0) {
            size = parse_u64(value, &trust->checkpoint.tree_size) && trust->checkpoint.tree_size > 0;
            if (!size) outcome = -1;
        } else if (strcmp(name, "root-hash") == 0) {
            root = parse_hex(value, trust->checkpoint.root_hash, HL_HASH_BYTES);
            if (!root) outcome = -1;
        } else if (strcmp(name, "block-height") == 0) {
            height = parse_u64(value, &trust->checkpoint.block_height);
            if (!height) outcome = -1;
        } else {
            outcome = -1;
        }
    }
    free(copy);
    if (outcome != 0) {
        hl_trust_free(trust);
        return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                            "checkpoint file %s: line %d is damaged (hint: it is written by this client only; "
                            "remove it only if you mean to trust the node afresh)", path, line_number);
    }
    if (!format || trust->chain_id[0] == '\0' || (size || root || height) != (size && root && height)) {
        hl_trust_free(trust);
        return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                            "checkpoint file %s is not a complete %s file", path, FORMAT_NAME);
    }
    trust->has_checkpoint = size;
    snprintf(trust->checkpoint.chain_id, sizeof trust->checkpoint.chain_id, "%s", trust->chain_id);
    return 0;
}

int hl_trust_load(hl_trust *trust, const char *path, bool *found, hl_error *error) {
    *found = false;
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        if (errno == ENOENT) return 0;
        return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT, "cannot open checkpoint file %s: %s",
                            path, strerror(errno));
    }
    char *text = malloc(MAX_FILE_BYTES + 1);
    size_t length = text ? fread(text, 1, MAX_FILE_BYTES + 1, file) : 0;
    bool unreadable = ferror(file) != 0;
    fclose(file);
    if (text == NULL) return hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
    if (unreadable || length > MAX_FILE_BYTES || memchr(text, '\0', length) != NULL) {
        free(text);
        return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                            "checkpoint file %s cannot be read or is not a checkpoint file", path);
    }
    text[length] = '\0';
    int outcome = hl_trust_parse(trust, text, path, error);
    free(text);
    *found = outcome == 0;
    return outcome;
}

int hl_trust_save(const hl_trust *trust, const char *path, hl_error *error) {
    char *text = hl_trust_format(trust);
    char *temporary = malloc(strlen(path) + 16);
    char *directory_copy = strdup(path);
    int outcome = -1;
    if (text == NULL || temporary == NULL || directory_copy == NULL) {
        hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
        goto done;
    }
    sprintf(temporary, "%s.tmp-%ld", path, (long)getpid());
    int descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    size_t length = strlen(text), written = 0;
    while (descriptor >= 0 && written < length) {
        ssize_t count = write(descriptor, text + written, length - written);
        if (count < 0 && errno == EINTR) continue;
        if (count <= 0) break;
        written += (size_t)count;
    }
    bool saved = descriptor >= 0 && written == length && fsync(descriptor) == 0;
    int reason = errno;
    if (descriptor >= 0 && close(descriptor) != 0 && saved) {
        saved = false;
        reason = errno;
    }
    if (saved && rename(temporary, path) != 0) {
        saved = false;
        reason = errno;
    }
    if (!saved) {
        hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT, "cannot write checkpoint file %s: %s", path,
                     strerror(reason));
        if (descriptor >= 0) unlink(temporary);
        goto done;
    }
    /* The rename is durable only once the directory is. */
    int directory = open(dirname(directory_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (directory >= 0) {
        fsync(directory);
        close(directory);
    }
    outcome = 0;
done:
    free(text);
    free(temporary);
    free(directory_copy);
    return outcome;
}
