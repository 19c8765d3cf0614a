/* Checks of what a node answers, so the client verifies rather than trusts (chain.proto): checkpoints signed by
 * pinned node keys, RFC 9162 inclusion proofs of receipts and audit events, and consistency of every checkpoint
 * with the newest one trusted, whose log must be a prefix of every later one. Pure: no I/O; client.c makes the
 * calls these checks ask for. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "internal.h"

static int unverified(hl_error *error, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* A verification failure: DATA_LOSS from HL_ORIGIN_VERIFICATION, so callers can tell it from a refusal. */
static int unverified(hl_error *error, const char *format, ...) {
    char message[sizeof error->message];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(message, sizeof message, format, arguments);
    va_end(arguments);
    return hl_error_set(error, HL_STATUS_DATA_LOSS, HL_ORIGIN_VERIFICATION, "%s", message);
}

/* The first 8 hex digits of a hash, for messages. */
static const char *short_hash(const uint8_t *hash, char out[9]) {
    hl_hex(hash, 4, out);
    return out;
}

int hl_trust_pin_key(hl_trust *trust, hl_key_algorithm algorithm, const uint8_t *bytes, size_t length,
                     hl_error *error) {
    if (algorithm != HL_KEY_ED25519 || length != 32) {
        return unverified(error, "node key of algorithm %d and %zu bytes: only Ed25519 node keys (32 bytes) are "
                                 "supported", (int)algorithm, length);
    }
    char key_id[HL_HEX_ID_LENGTH + 1];
    hl_key_id(bytes, length, key_id);
    for (size_t i = 0; i < trust->key_count; i++) {
        if (strcmp(trust->keys[i].key_id, key_id) == 0) return 0;
    }
    hl_pinned_key *grown = realloc(trust->keys, (trust->key_count + 1) * sizeof *grown);
    if (grown == NULL) return hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
    trust->keys = grown;
    hl_pinned_key *key = &trust->keys[trust->key_count++];
    *key = (hl_pinned_key){.algorithm = algorithm, .length = length};
    memcpy(key->bytes, bytes, length);
    memcpy(key->key_id, key_id, sizeof key_id);
    return 0;
}

void hl_trust_free(hl_trust *trust) {
    free(trust->keys);
    *trust = (hl_trust){0};
}

static bool ed25519_verifies(const hl_pinned_key *key, const uint8_t *message, size_t length,
                             const ProtobufCBinaryData *signature) {
    if (signature->len != HL_SIGNATURE_BYTES) return false;
    EVP_PKEY *public_key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key->bytes, key->length);
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    bool valid = public_key != NULL && context != NULL &&
                 EVP_DigestVerifyInit(context, NULL, NULL, NULL, public_key) == 1 &&
                 EVP_DigestVerify(context, signature->data, signature->len, message, length) == 1;
    EVP_MD_CTX_free(context);
    EVP_PKEY_free(public_key);
    ERR_clear_error();
    return valid;
}

/* Whether `bytes` are exactly protobuf-c's encoding of `decoded`: signed and hashed bytes must have one form, so
 * what the client checks is what the log holds. */
static bool encodes_as(const ProtobufCMessage *decoded, const uint8_t *bytes, size_t length) {
    size_t packed_length = 0;
    uint8_t *packed = hl_pack(decoded, &packed_length);
    bool same = packed != NULL && packed_length == length && (length == 0 || memcmp(packed, bytes, length) == 0);
    free(packed);
    return same;
}

int hl_verify_signed_checkpoint(const hl_trust *trust, const Healthledger__V1__SignedCheckpoint *signed_checkpoint,
                                Healthledger__V1__Checkpoint **out, hl_error *error) {
    *out = NULL;
    if (signed_checkpoint == NULL) return unverified(error, "the answer carries no signed checkpoint");
    const hl_pinned_key *key = NULL;
    for (size_t i = 0; i < trust->key_count && key == NULL; i++) {
        if (strcmp(trust->keys[i].key_id, signed_checkpoint->node_key_id) == 0) key = &trust->keys[i];
    }
    if (key == NULL) {
        return unverified(error, "a checkpoint is signed by node key %.16s..., which is not pinned (%zu pinned%s%.16s)",
                          signed_checkpoint->node_key_id, trust->key_count, trust->key_count ? ", first " : "",
                          trust->key_count ? trust->keys[0].key_id : "");
    }
    size_t message_length = 0;
    uint8_t *message = hl_context_labelled(HL_CHECKPOINT_CONTEXT, signed_checkpoint->checkpoint.data,
                                           signed_checkpoint->checkpoint.len, &message_length);
    if (message == NULL) return hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
    bool valid = ed25519_verifies(key, message, message_length, &signed_checkpoint->signature);
    free(message);
    if (!valid) {
        return unverified(error, "a checkpoint's signature does not verify under node key %.16s...", key->key_id);
    }
    Healthledger__V1__Checkpoint *checkpoint = healthledger__v1__checkpoint__unpack(
        NULL, signed_checkpoint->checkpoint.len, signed_checkpoint->checkpoint.data);
    if (checkpoint == NULL ||
        !encodes_as(&checkpoint->base, signed_checkpoint->checkpoint.data, signed_checkpoint->checkpoint.len)) {
        if (checkpoint != NULL) healthledger__v1__checkpoint__free_unpacked(checkpoint, NULL);
        return unverified(error, "a signed checkpoint is not the deterministic encoding of a Checkpoint");
    }
    if (checkpoint->root_hash.len != HL_HASH_BYTES) {
        healthledger__v1__checkpoint__free_unpacked(checkpoint, NULL);
        return unverified(error, "a signed checkpoint has a root of %zu bytes, not 32", checkpoint->root_hash.len);
    }
    if (strcmp(checkpoint->chain_id, trust->chain_id) != 0) {
        unverified(error, "a checkpoint of chain \"%.64s\", expected \"%.64s\"", checkpoint->chain_id, trust->chain_id);
        healthledger__v1__checkpoint__free_unpacked(checkpoint, NULL);
        return -1;
    }
    *out = checkpoint;
    return 0;
}

int hl_verify_entry_proof(const hl_trust *trust, const uint8_t *entry, size_t entry_length, uint64_t entry_index,
                          uint64_t block_height, const Healthledger__V1__EntryProof *proof,
                          Healthledger__V1__Checkpoint **checkpoint, hl_error *error) {
    *checkpoint = NULL;
    if (proof == NULL || proof->inclusion == NULL) {
        return unverified(error, "log entry %llu carries no inclusion proof", (unsigned long long)entry_index);
    }
    Healthledger__V1__Checkpoint *signed_root = NULL;
    if (hl_verify_signed_checkpoint(trust, proof->checkpoint, &signed_root, error) != 0) return -1;
    const Healthledger__V1__InclusionProof *inclusion = proof->inclusion;
    char root[9];
    int outcome = 0;
    if (signed_root->block_height < block_height) {
        outcome = unverified(error, "log entry %llu is said to be in block %llu, its proof's checkpoint ends "
                                    "block %llu",
                             (unsigned long long)entry_index, (unsigned long long)block_height,
                             (unsigned long long)signed_root->block_height);
    } else if (inclusion->leaf_index != entry_index || inclusion->tree_size != signed_root->tree_size) {
        outcome = unverified(error, "the inclusion proof is of leaf %llu in tree size %llu, not of log entry %llu in "
                                    "the checkpoint's tree size %llu",
                             (unsigned long long)inclusion->leaf_index, (unsigned long long)inclusion->tree_size,
                             (unsigned long long)entry_index, (unsigned long long)signed_root->tree_size);
    } else {
        uint8_t leaf[HL_HASH_BYTES];
        hl_merkle_leaf_hash(entry, entry_length, leaf);
        if (!hl_merkle_verify_inclusion(inclusion->leaf_index, inclusion->tree_size, leaf, inclusion->audit_path,
                                        inclusion->n_audit_path, signed_root->root_hash.data)) {
            outcome = unverified(error, "the inclusion proof of log entry %llu in tree size %llu (%zu hashes) does not "
                                        "lead to the signed root %s",
                                 (unsigned long long)entry_index, (unsigned long long)inclusion->tree_size,
                                 inclusion->n_audit_path, short_hash(signed_root->root_hash.data, root));
        }
    }
    if (outcome != 0) {
        healthledger__v1__checkpoint__free_unpacked(signed_root, NULL);
        return -1;
    }
    *checkpoint = signed_root;
    return 0;
}

/* Decodes a LedgerEntry, refusing bytes that are not its deterministic encoding. */
static Healthledger__V1__LedgerEntry *decode_entry(const ProtobufCBinaryData *bytes) {
    Healthledger__V1__LedgerEntry *entry = healthledger__v1__ledger_entry__unpack(NULL, bytes->len, bytes->data);
    if (entry != NULL && !encodes_as(&entry->base, bytes->data, bytes->len)) {
        healthledger__v1__ledger_entry__free_unpacked(entry, NULL);
        return NULL;
    }
    return entry;
}

static bool same_encoding(const ProtobufCMessage *left, const ProtobufCMessage *right) {
    size_t length = 0;
    uint8_t *packed = hl_pack(left, &length);
    bool same = packed != NULL && encodes_as(right, packed, length);
    free(packed);
    return same;
}

int hl_verify_receipt(const hl_trust *trust, const Healthledger__V1__TransactionReceipt *receipt,
                      const Healthledger__V1__SignedTransaction *sent, const char *transaction_id,
                      Healthledger__V1__Checkpoint **checkpoint, hl_error *error) {
    *checkpoint = NULL;
    if (receipt == NULL) {
        return unverified(error, "the answer carries no receipt of transaction %.16s...", transaction_id);
    }
    if (strcmp(receipt->transaction_id, transaction_id) != 0) {
        return unverified(error, "the receipt names transaction %.16s..., sent %.16s...", receipt->transaction_id,
                          transaction_id);
    }
    if (receipt->proof == NULL) {
        return unverified(error, "the receipt of transaction %.16s... carries no proof", transaction_id);
    }
    Healthledger__V1__LedgerEntry *entry = decode_entry(&receipt->ledger_entry);
    bool holds = entry != NULL && entry->entry_case == HEALTHLEDGER__V1__LEDGER_ENTRY__ENTRY_TRANSACTION &&
                 same_encoding(&entry->transaction->base, &sent->base);
    if (entry != NULL) healthledger__v1__ledger_entry__free_unpacked(entry, NULL);
    if (!holds) {
        return unverified(error, "the receipt's ledger entry does not hold the signed transaction %.16s... that "
                                 "was sent", transaction_id);
    }
    return hl_verify_entry_proof(trust, receipt->ledger_entry.data, receipt->ledger_entry.len, receipt->entry_index,
                                 receipt->block_height, receipt->proof, checkpoint, error);
}

int hl_verify_logged_audit_event(const hl_trust *trust, const Healthledger__V1__LoggedAuditEvent *logged,
                                 uint64_t sequence, Healthledger__V1__Checkpoint **checkpoint, hl_error *error) {
    *checkpoint = NULL;
    if (logged == NULL || logged->event == NULL) {
        return unverified(error, "the answer carries no audit event %llu", (unsigned long long)sequence);
    }
    if (logged->event->sequence != sequence) {
        return unverified(error, "audit event %llu is sent as the record of audit sequence %llu",
                          (unsigned long long)logged->event->sequence, (unsigned long long)sequence);
    }
    if (logged->proof == NULL) {
        return unverified(error, "audit event %llu carries no proof", (unsigned long long)sequence);
    }
    Healthledger__V1__LedgerEntry *entry = decode_entry(&logged->ledger_entry);
    bool holds = entry != NULL && entry->entry_case == HEALTHLEDGER__V1__LEDGER_ENTRY__ENTRY_AUDIT_EVENT &&
                 same_encoding(&entry->audit_event->base, &logged->event->base);
    if (entry != NULL) healthledger__v1__ledger_entry__free_unpacked(entry, NULL);
    if (!holds) {
        return unverified(error, "audit event %llu's ledger entry does not hold the event sent with it",
                          (unsigned long long)sequence);
    }
    return hl_verify_entry_proof(trust, logged->ledger_entry.data, logged->ledger_entry.len, logged->event->entry_index,
                                 logged->event->block_height, logged->proof, checkpoint, error);
}

/* SHA-256 of nothing: the root of the empty log (RFC 9162 section 2.1.1). */
static const uint8_t empty_root[HL_HASH_BYTES] = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};

static int history_mismatch(const hl_trust *trust, uint64_t size, const uint8_t *root, hl_error *error,
                            const char *how) {
    char trusted[9], now[9];
    return unverified(error, "history mismatch: the node's log %s the checkpoint trusted before (tree size %llu, root "
                             "%s): it now states tree size %llu, root %s; it was rewritten, rolled back or forked",
                      how, (unsigned long long)trust->checkpoint.tree_size,
                      short_hash(trust->checkpoint.root_hash, trusted), (unsigned long long)size,
                      short_hash(root, now));
}

int hl_trust_check_head(const hl_trust *trust, const Healthledger__V1__Checkpoint *head, hl_error *error) {
    if (!trust->has_checkpoint || head->tree_size >= trust->checkpoint.tree_size) return 0;
    return history_mismatch(trust, head->tree_size, head->root_hash.data, error, "is behind");
}

int hl_trust_proof_needed(const hl_trust *trust, const Healthledger__V1__Checkpoint *checkpoint, uint64_t *first,
                          uint64_t *second, hl_error *error) {
    const uint8_t *root = checkpoint->root_hash.data;
    if (checkpoint->tree_size == 0) {
        if (memcmp(root, empty_root, HL_HASH_BYTES) != 0) {
            char shown[9];
            return unverified(error, "a checkpoint of tree size 0 has root %s, not the empty log's",
                              short_hash(root, shown));
        }
        return 0;
    }
    if (!trust->has_checkpoint) return 0;
    uint64_t trusted = trust->checkpoint.tree_size;
    if (checkpoint->tree_size == trusted) {
        if (memcmp(root, trust->checkpoint.root_hash, HL_HASH_BYTES) != 0) {
            return history_mismatch(trust, checkpoint->tree_size, root, error, "does not extend");
        }
        return 0;
    }
    *first = checkpoint->tree_size < trusted ? checkpoint->tree_size : trusted;
    *second = checkpoint->tree_size < trusted ? trusted : checkpoint->tree_size;
    return 1;
}

/* The root `checkpoint` must have at tree size `size`: its own, the trusted one's, or NULL for neither. */
static const uint8_t *expected_root(const hl_trust *trust, const Healthledger__V1__Checkpoint *checkpoint,
                                    uint64_t size) {
    if (size == checkpoint->tree_size) return checkpoint->root_hash.data;
    if (size == trust->checkpoint.tree_size) return trust->checkpoint.root_hash;
    return NULL;
}

void hl_trust_adopt(hl_trust *trust, const Healthledger__V1__Checkpoint *checkpoint) {
    if (checkpoint->tree_size == 0 || (trust->has_checkpoint && checkpoint->tree_size <= trust->checkpoint.tree_size)) {
        return;
    }
    trust->has_checkpoint = true;
    snprintf(trust->checkpoint.chain_id, sizeof trust->checkpoint.chain_id, "%s", trust->chain_id);
    trust->checkpoint.tree_size = checkpoint->tree_size;
    memcpy(trust->checkpoint.root_hash, checkpoint->root_hash.data, HL_HASH_BYTES);
    trust->checkpoint.block_height = checkpoint->block_height;
}

int hl_trust_join(hl_trust *trust, const Healthledger__V1__Checkpoint *checkpoint,
                  const Healthledger__V1__GetConsistencyProofResponse *response, hl_error *error) {
    uint64_t first = 0, second = 0;
    int needed = hl_trust_proof_needed(trust, checkpoint, &first, &second, error);
    if (needed < 0) return -1;
    if (needed == 0) {
        hl_trust_adopt(trust, checkpoint);
        return 0;
    }
    if (response == NULL || response->proof == NULL) return unverified(error, "no consistency proof came back");
    Healthledger__V1__Checkpoint *older = NULL, *newer = NULL;
    int outcome = -1;
    if (hl_verify_signed_checkpoint(trust, response->first_checkpoint, &older, error) != 0 ||
        hl_verify_signed_checkpoint(trust, response->second_checkpoint, &newer, error) != 0) {
        goto done;
    }
    const Healthledger__V1__ConsistencyProof *proof = response->proof;
    if (older->tree_size != first || newer->tree_size != second || proof->first_tree_size != first ||
        proof->second_tree_size != second) {
        unverified(error, "a consistency proof of tree sizes %llu->%llu with checkpoints %llu->%llu, asked %llu->%llu",
                   (unsigned long long)proof->first_tree_size, (unsigned long long)proof->second_tree_size,
                   (unsigned long long)older->tree_size, (unsigned long long)newer->tree_size,
                   (unsigned long long)first, (unsigned long long)second);
        goto done;
    }
    /* The node's checkpoints of both sizes must be the very ones seen: the trusted root and the new one's. */
    const Healthledger__V1__Checkpoint *served[2] = {older, newer};
    for (int i = 0; i < 2; i++) {
        const uint8_t *expected = expected_root(trust, checkpoint, served[i]->tree_size);
        if (expected == NULL || memcmp(expected, served[i]->root_hash.data, HL_HASH_BYTES) != 0) {
            bool trusted_size = served[i]->tree_size == trust->checkpoint.tree_size;
            history_mismatch(trust, served[i]->tree_size, served[i]->root_hash.data, error,
                             trusted_size ? "does not extend" : "disagrees with");
            goto done;
        }
    }
    if (!hl_merkle_verify_consistency(first, second, older->root_hash.data, newer->root_hash.data,
                                      proof->consistency_path, proof->n_consistency_path)) {
        char older_root[9], newer_root[9];
        unverified(error, "history mismatch: tree size %llu (root %s) is not a prefix of tree size %llu (root %s): "
                          "the consistency proof (%zu hashes) does not verify",
                   (unsigned long long)first, short_hash(older->root_hash.data, older_root),
                   (unsigned long long)second, short_hash(newer->root_hash.data, newer_root),
                   proof->n_consistency_path);
        goto done;
    }
    hl_trust_adopt(trust, checkpoint);
    outcome = 0;
done:
    if (older != NULL) healthledger__v1__checkpoint__free_unpacked(older, NULL);
    if (newer != NULL) healthledger__v1__checkpoint__free_unpacked(newer, NULL);
    return outcome;
}

int hl_trust_missing_checkpoint(const hl_trust *trust, const char *detail, hl_error *error) {
    char root[9];
    return unverified(error, "history mismatch: the node has no checkpoint of tree size %llu (root %s), which it "
                             "signed before: %.200s",
                      (unsigned long long)trust->checkpoint.tree_size, short_hash(trust->checkpoint.root_hash, root),
                      detail);
}
