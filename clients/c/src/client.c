/* One principal's use of a node: the chain id, a session (challenge signed with the context "healthledger.v1.session"),
 * transaction numbering, signed writes resubmitted with the very same bytes when their outcome is unknown, and
 * queries whose content is checked against each record's signed size and SHA-256. What the node answers is
 * verified (verify.c): receipts and the query's audit event against checkpoints signed by pinned node keys, and
 * every checkpoint against the newest one trusted, through GetConsistencyProof. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "internal.h"

#define MAX_BODY_BYTES 65536
#define CHUNK_BYTES (256 * 1024)
#define TRANSACTION_ATTEMPTS 3
#define SESSION_TTL_MS 900000
/* A device clock further than this ahead of the node's would sign created_at values the node refuses. */
#define CLOCK_AHEAD_LIMIT_MS 60000

struct hl_client {
    hl_connection *connection;
    const hl_identity *identity;
    char *chain_id;
    int64_t clock_offset_ms;
    char *token;
    uint64_t next_sequence;
    bool key_on_ledger;
    hl_trust trust;
    /* The chain id in `trust` came from the caller (a saved checkpoint), not from this node. */
    bool trust_given;
};

hl_client *hl_client_new(hl_connection *connection, const hl_identity *identity) {
    hl_client *client = calloc(1, sizeof *client);
    if (client == NULL) return NULL;
    client->connection = connection;
    client->identity = identity;
    return client;
}

void hl_client_free(hl_client *client) {
    if (client == NULL) return;
    if (client->token != NULL) {
        Healthledger__V1__DeleteSessionRequest request = HEALTHLEDGER__V1__DELETE_SESSION_REQUEST__INIT;
        ProtobufCMessage *response = NULL;
        hl_error ignored;
        if (hl_call_unary(client->connection, "DeleteSession", client->token, &request.base,
                          &healthledger__v1__delete_session_response__descriptor, &response, &ignored) == 0) {
            protobuf_c_message_free_unpacked(response, NULL);
        }
        free(client->token);
    }
    free(client->chain_id);
    hl_trust_free(&client->trust);
    free(client);
}

static int rpc_error(hl_error *error, const char *rpc) {
    snprintf(error->rpc, sizeof error->rpc, "%s", rpc);
    return -1;
}

/* Joins a verified checkpoint to the trusted one: the same size and root, or a GetConsistencyProof showing the
 * older log a prefix of the newer; the newer is then trusted. */
static int observe_checkpoint(hl_client *client, const Healthledger__V1__Checkpoint *checkpoint, hl_error *error) {
    uint64_t first = 0, second = 0;
    int needed = hl_trust_proof_needed(&client->trust, checkpoint, &first, &second, error);
    if (needed < 0) return -1;
    if (needed == 0) {
        hl_trust_adopt(&client->trust, checkpoint);
        return 0;
    }
    Healthledger__V1__GetConsistencyProofRequest request = HEALTHLEDGER__V1__GET_CONSISTENCY_PROOF_REQUEST__INIT;
    request.first_tree_size = first;
    request._second_tree_size_case =
        HEALTHLEDGER__V1__GET_CONSISTENCY_PROOF_REQUEST___SECOND_TREE_SIZE_SECOND_TREE_SIZE;
    request.second_tree_size = second;
    ProtobufCMessage *response = NULL;
    if (hl_call_unary(client->connection, "GetConsistencyProof", NULL, &request.base,
                      &healthledger__v1__get_consistency_proof_response__descriptor, &response, error) != 0) {
        if (error->code == HL_STATUS_NOT_FOUND && error->origin == HL_ORIGIN_NODE) {
            char detail[sizeof error->message];
            snprintf(detail, sizeof detail, "%s", error->message);
            hl_trust_missing_checkpoint(&client->trust, detail, error);
        }
        return -1;
    }
    int outcome = hl_trust_join(&client->trust, checkpoint, (Healthledger__V1__GetConsistencyProofResponse *)response,
                                error);
    protobuf_c_message_free_unpacked(response, NULL);
    return outcome;
}

/* Pins the node keys GetChainHead lists when none are pinned yet, then checks its checkpoint. */
static int verify_head(hl_client *client, const Healthledger__V1__GetChainHeadResponse *head, hl_error *error) {
    if (client->trust.key_count == 0) {
        for (size_t i = 0; i < head->n_node_keys; i++) {
            const Healthledger__V1__NodeKey *key = head->node_keys[i];
            char key_id[HL_HEX_ID_LENGTH + 1];
            if (key->public_key == NULL) {
                return hl_error_set(error, HL_STATUS_DATA_LOSS, HL_ORIGIN_VERIFICATION, "node key %.16s... has no key",
                                    key->key_id);
            }
            hl_key_id(key->public_key->key_bytes.data, key->public_key->key_bytes.len, key_id);
            if (strcmp(key_id, key->key_id) != 0) {
                return hl_error_set(error, HL_STATUS_DATA_LOSS, HL_ORIGIN_VERIFICATION,
                                    "node key id %.16s... is not the SHA-256 of its key bytes", key->key_id);
            }
            if (hl_trust_pin_key(&client->trust, (hl_key_algorithm)key->public_key->algorithm,
                                 key->public_key->key_bytes.data, key->public_key->key_bytes.len, error) != 0) {
                return -1;
            }
        }
    }
    Healthledger__V1__Checkpoint *checkpoint = NULL;
    if (hl_verify_signed_checkpoint(&client->trust, head->checkpoint, &checkpoint, error) != 0) return -1;
    int outcome = hl_trust_check_head(&client->trust, checkpoint, error);
    if (outcome == 0) outcome = observe_checkpoint(client, checkpoint, error);
    healthledger__v1__checkpoint__free_unpacked(checkpoint, NULL);
    return outcome;
}

int hl_client_pin_node_key(hl_client *client, hl_key_algorithm algorithm, const uint8_t *key_bytes, size_t length,
                           hl_error *error) {
    return hl_trust_pin_key(&client->trust, algorithm, key_bytes, length, error);
}

size_t hl_client_node_key_count(const hl_client *client) {
    return client->trust.key_count;
}

const uint8_t *hl_client_node_key(const hl_client *client, size_t index, hl_key_algorithm *algorithm,
                                  size_t *length) {
    if (index >= client->trust.key_count) return NULL;
    *algorithm = client->trust.keys[index].algorithm;
    *length = client->trust.keys[index].length;
    return client->trust.keys[index].bytes;
}

int hl_client_start_from_checkpoint(hl_client *client, const hl_trusted_checkpoint *checkpoint, hl_error *error) {
    size_t chain_length = strnlen(checkpoint->chain_id, sizeof checkpoint->chain_id);
    if (chain_length == 0 || chain_length > HL_MAX_CHAIN_ID_LENGTH || checkpoint->tree_size == 0) {
        return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                            "a trusted checkpoint needs a chain id and a tree size of at least 1");
    }
    if (client->chain_id != NULL || client->trust.has_checkpoint) {
        return hl_error_set(error, HL_STATUS_FAILED_PRECONDITION, HL_ORIGIN_CLIENT,
                            "the client already trusts a chain; start from a saved checkpoint before any call");
    }
    client->trust.checkpoint = *checkpoint;
    memcpy(client->trust.chain_id, checkpoint->chain_id, chain_length);
    client->trust.chain_id[chain_length] = '\0';
    client->trust.has_checkpoint = true;
    client->trust_given = true;
    return 0;
}

bool hl_client_trusted_checkpoint(const hl_client *client, hl_trusted_checkpoint *out) {
    if (!client->trust.has_checkpoint) return false;
    *out = client->trust.checkpoint;
    return true;
}

int hl_client_load_checkpoint_file(hl_client *client, const char *path, hl_error *error) {
    if (client->chain_id != NULL || client->trust.key_count != 0 || client->trust.has_checkpoint) {
        return hl_error_set(error, HL_STATUS_FAILED_PRECONDITION, HL_ORIGIN_CLIENT,
                            "the client already trusts a chain; load the checkpoint file before any call");
    }
    hl_trust loaded = {0};
    bool found = false;
    if (hl_trust_load(&loaded, path, &found, error) != 0) return -1;
    if (found) {
        client->trust = loaded;
        client->trust_given = true;
    }
    return 0;
}

int hl_client_save_checkpoint_file(const hl_client *client, const char *path, hl_error *error) {
    if (client->trust.chain_id[0] == '\0') {
        return hl_error_set(error, HL_STATUS_FAILED_PRECONDITION, HL_ORIGIN_CLIENT,
                            "nothing to save: the client has not learnt the chain yet");
    }
    return hl_trust_save(&client->trust, path, error);
}

int hl_client_chain_head(hl_client *client, Healthledger__V1__GetChainHeadResponse **head, hl_error *error) {
    Healthledger__V1__GetChainHeadRequest request = HEALTHLEDGER__V1__GET_CHAIN_HEAD_REQUEST__INIT;
    ProtobufCMessage *response = NULL;
    int64_t asked_at = hl_now_unix_ms();
    if (hl_call_unary(client->connection, "GetChainHead", NULL, &request.base,
                      &healthledger__v1__get_chain_head_response__descriptor, &response, error) != 0) {
        return -1;
    }
    *head = (Healthledger__V1__GetChainHeadResponse *)response;
    if (client->chain_id == NULL && client->trust_given && strcmp(client->trust.chain_id, (*head)->chain_id) != 0) {
        hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                     "the node serves chain \"%.64s\"; the trusted checkpoint is of chain \"%.64s\"", (*head)->chain_id,
                     client->trust.chain_id);
        protobuf_c_message_free_unpacked(response, NULL);
        *head = NULL;
        return rpc_error(error, "GetChainHead");
    }
    if (client->chain_id == NULL && strlen((*head)->chain_id) > HL_MAX_CHAIN_ID_LENGTH) {
        hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_CLIENT, "the node's chain id is longer than %d characters",
                     HL_MAX_CHAIN_ID_LENGTH);
        protobuf_c_message_free_unpacked(response, NULL);
        *head = NULL;
        return rpc_error(error, "GetChainHead");
    }
    if (client->chain_id == NULL) {
        client->chain_id = strdup((*head)->chain_id);
        if (client->chain_id == NULL) {
            protobuf_c_message_free_unpacked(response, NULL);
            *head = NULL;
            return hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
        }
    } else if (strcmp(client->chain_id, (*head)->chain_id) != 0) {
        hl_error_set(error, HL_STATUS_FAILED_PRECONDITION, HL_ORIGIN_CLIENT,
                     "the node now says chain \"%.64s\", first \"%.64s\"", (*head)->chain_id, client->chain_id);
        protobuf_c_message_free_unpacked(response, NULL);
        *head = NULL;
        return rpc_error(error, "GetChainHead");
    }
    snprintf(client->trust.chain_id, sizeof client->trust.chain_id, "%s", client->chain_id);
    /* Half the round trip is the best guess of when the node read its clock. */
    int64_t local = asked_at + (hl_now_unix_ms() - asked_at) / 2;
    client->clock_offset_ms = (*head)->server_time_unix_ms - local;
    if (verify_head(client, *head, error) != 0) {
        protobuf_c_message_free_unpacked(response, NULL);
        *head = NULL;
        return rpc_error(error, "GetChainHead");
    }
    return 0;
}

static const char *chain_id(hl_client *client, hl_error *error) {
    if (client->chain_id == NULL) {
        Healthledger__V1__GetChainHeadResponse *head = NULL;
        if (hl_client_chain_head(client, &head, error) != 0) return NULL;
        protobuf_c_message_free_unpacked(&head->base, NULL);
    }
    return client->chain_id;
}

static int require_identity(const hl_client *client, hl_error *error) {
    if (client->identity != NULL) return 0;
    return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                        "this call signs or needs a session: the client needs an identity");
}

static void fill_public_key(const hl_identity *identity, Healthledger__V1__PublicKey *key) {
    size_t length = 0;
    const uint8_t *bytes = hl_identity_public_key(identity, &length);
    key->algorithm = (Healthledger__V1__KeyAlgorithm)hl_identity_algorithm(identity);
    key->key_bytes.data = (uint8_t *)bytes;
    key->key_bytes.len = length;
}

const char *hl_client_session_token(hl_client *client, hl_error *error) {
    if (client->token != NULL) return client->token;
    if (require_identity(client, error) != 0 || chain_id(client, error) == NULL) return NULL;
    const char *principal = hl_identity_principal_id(client->identity);
    Healthledger__V1__PublicKey public_key = HEALTHLEDGER__V1__PUBLIC_KEY__INIT;
    fill_public_key(client->identity, &public_key);

    Healthledger__V1__CreateSessionChallengeRequest ask = HEALTHLEDGER__V1__CREATE_SESSION_CHALLENGE_REQUEST__INIT;
    ask.principal_id = (char *)principal;
    ask.key_id = (char *)hl_identity_key_id(client->identity);
    /* Always sent: a device that never transacted has no key on the ledger yet. */
    ask.public_key = &public_key;
    ProtobufCMessage *answer = NULL;
    if (hl_call_unary(client->connection, "CreateSessionChallenge", NULL, &ask.base,
                      &healthledger__v1__create_session_challenge_response__descriptor, &answer, error) != 0) {
        return NULL;
    }
    Healthledger__V1__CreateSessionChallengeResponse *challenge =
        (Healthledger__V1__CreateSessionChallengeResponse *)answer;
    const char *result = NULL;
    uint8_t *message = NULL;
    ProtobufCMessage *created = NULL;
    if (strcmp(challenge->chain_id, client->chain_id) != 0) {
        hl_error_set(error, HL_STATUS_FAILED_PRECONDITION, HL_ORIGIN_CLIENT,
                     "the challenge names chain \"%.64s\", not \"%.64s\"", challenge->chain_id, client->chain_id);
        rpc_error(error, "CreateSessionChallenge");
        goto done;
    }
    size_t message_length = 0;
    message = hl_session_message(client->chain_id, principal, challenge->challenge.data, challenge->challenge.len,
                                 &message_length);
    uint8_t signature[HL_SIGNATURE_BYTES];
    if (message == NULL) {
        hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
        goto done;
    }
    if (hl_identity_sign(client->identity, message, message_length, signature, error) != 0) goto done;

    Healthledger__V1__CreateSessionRequest request = HEALTHLEDGER__V1__CREATE_SESSION_REQUEST__INIT;
    request.principal_id = (char *)principal;
    request.key_id = (char *)hl_identity_key_id(client->identity);
    request.public_key = &public_key;
    request.challenge = challenge->challenge;
    request.signature.data = signature;
    request.signature.len = sizeof signature;
    request._requested_ttl_ms_case = HEALTHLEDGER__V1__CREATE_SESSION_REQUEST___REQUESTED_TTL_MS_REQUESTED_TTL_MS;
    request.requested_ttl_ms = SESSION_TTL_MS;
    if (hl_call_unary(client->connection, "CreateSession", NULL, &request.base,
                      &healthledger__v1__create_session_response__descriptor, &created, error) != 0) {
        goto done;
    }
    client->token = strdup(((Healthledger__V1__CreateSessionResponse *)created)->token);
    if (client->token == NULL) {
        hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
        goto done;
    }
    result = client->token;
done:
    free(message);
    protobuf_c_message_free_unpacked(answer, NULL);
    if (created != NULL) protobuf_c_message_free_unpacked(created, NULL);
    return result;
}

/* The sequence of the principal's next transaction: GetPrincipal's next_sequence, or 1 when the ledger has
 * no transaction by it yet (its public key then goes with the transaction). */
static int learn_next_sequence(hl_client *client, hl_error *error) {
    if (client->next_sequence != 0) return 0;
    const char *token = hl_client_session_token(client, error);
    if (token == NULL) return -1;
    Healthledger__V1__GetPrincipalRequest request = HEALTHLEDGER__V1__GET_PRINCIPAL_REQUEST__INIT;
    request.principal_id = (char *)hl_identity_principal_id(client->identity);
    ProtobufCMessage *response = NULL;
    if (hl_call_unary(client->connection, "GetPrincipal", token, &request.base,
                      &healthledger__v1__get_principal_response__descriptor, &response, error) != 0) {
        if (error->code != HL_STATUS_NOT_FOUND || error->origin != HL_ORIGIN_NODE) return -1;
        client->next_sequence = 1;
        client->key_on_ledger = false;
        return 0;
    }
    const Healthledger__V1__Principal *principal = ((Healthledger__V1__GetPrincipalResponse *)response)->principal;
    client->next_sequence = principal && principal->next_sequence > 0 ? principal->next_sequence : 1;
    client->key_on_ledger = true;
    protobuf_c_message_free_unpacked(response, NULL);
    return 0;
}

/* ---- Write ---------------------------------------------------------------------------------------------- */

typedef struct label {
    const char *key;
    const char *value;
} label;

static int compare_labels(const void *left, const void *right) {
    return strcmp(((const label *)left)->key, ((const label *)right)->key);
}

/* The Write request stream: the signed transaction, then the content in chunks with their offsets. */
typedef struct write_stream {
    const Healthledger__V1__SignedTransaction *transaction;
    const uint8_t *content;
    size_t length;
    size_t offset;
    bool transaction_sent;
} write_stream;

static int produce_write(void *context, hl_buffer *out, bool *done, hl_error *error) {
    write_stream *stream = context;
    Healthledger__V1__WriteRequest request = HEALTHLEDGER__V1__WRITE_REQUEST__INIT;
    Healthledger__V1__ContentChunk chunk = HEALTHLEDGER__V1__CONTENT_CHUNK__INIT;
    if (!stream->transaction_sent) {
        request.part_case = HEALTHLEDGER__V1__WRITE_REQUEST__PART_TRANSACTION;
        request.transaction = (Healthledger__V1__SignedTransaction *)stream->transaction;
        stream->transaction_sent = true;
    } else {
        size_t take = stream->length - stream->offset < CHUNK_BYTES ? stream->length - stream->offset : CHUNK_BYTES;
        chunk.data.data = (uint8_t *)stream->content + stream->offset;
        chunk.data.len = take;
        chunk.offset_bytes = stream->offset;
        request.part_case = HEALTHLEDGER__V1__WRITE_REQUEST__PART_CHUNK;
        request.chunk = &chunk;
        stream->offset += take;
    }
    *done = stream->offset == stream->length;
    if (hl_grpc_frame_message(out, &request.base) != 0) {
        return hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
    }
    return 0;
}

typedef struct unary_bytes {
    hl_buffer bytes;
    size_t count;
    hl_error *error;
} unary_bytes;

static int collect_bytes(void *context, const uint8_t *payload, size_t length) {
    unary_bytes *collected = context;
    if (++collected->count > 1 || hl_buffer_append(&collected->bytes, payload, length) != 0) {
        hl_error_set(collected->error, HL_STATUS_INTERNAL, HL_ORIGIN_CLIENT, "unexpected Write answer");
        return 1;
    }
    return 0;
}

static int check_record(const hl_record_to_write *record, hl_error *error) {
    if (hl_principal_id_check(record->patient, error) != 0) return -1;
    if (record->category == HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_UNSPECIFIED ||
        record->category == HEALTHLEDGER__V1__DATA_CATEGORY__DATA_CATEGORY_ALL) {
        return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                            "a record needs one concrete category (not \"all\")");
    }
    for (size_t i = 0; i < record->label_count; i++) {
        /* protobuf-c leaves empty map values out of the entry, which the deterministic encoding forbids. */
        if (record->label_keys[i] == NULL || record->label_keys[i][0] == '\0' || record->label_values[i] == NULL ||
            record->label_values[i][0] == '\0') {
            return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                                "label %zu: keys and values must be non-empty", i + 1);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(record->label_keys[i], record->label_keys[j]) == 0) {
                return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT, "label %.63s given twice",
                                    record->label_keys[i]);
            }
        }
    }
    return 0;
}

uint8_t *hl_encode_write_body(const char *chain, const char *author, uint64_t sequence, int64_t created_at_unix_ms,
                              const hl_record_to_write *record, size_t *length) {
    uint8_t digest[SHA256_DIGEST_LENGTH];
    hl_sha256(record->content, record->content_length, digest);

    size_t count = record->label_count;
    label *labels = count ? calloc(count, sizeof *labels) : NULL;
    Healthledger__V1__RecordMetadata__LabelsEntry *entries = count ? calloc(count, sizeof *entries) : NULL;
    Healthledger__V1__RecordMetadata__LabelsEntry **entry_pointers = count ? calloc(count, sizeof *entry_pointers) : NULL;
    uint8_t *body = NULL;
    if (count && (!labels || !entries || !entry_pointers)) goto done;
    for (size_t i = 0; i < count; i++) labels[i] = (label){record->label_keys[i], record->label_values[i]};
    /* Map entries sorted by key: the deterministic encoding the node checks. */
    if (count) qsort(labels, count, sizeof *labels, compare_labels);
    for (size_t i = 0; i < count; i++) {
        healthledger__v1__record_metadata__labels_entry__init(&entries[i]);
        entries[i].key = (char *)labels[i].key;
        entries[i].value = (char *)labels[i].value;
        entry_pointers[i] = &entries[i];
    }

    Healthledger__V1__RecordMetadata metadata = HEALTHLEDGER__V1__RECORD_METADATA__INIT;
    metadata.patient = (char *)record->patient;
    metadata.category = record->category;
    metadata.content_sha256.data = digest;
    metadata.content_sha256.len = sizeof digest;
    metadata.size_bytes = record->content_length;
    metadata.media_type = (char *)(record->media_type ? record->media_type : "application/octet-stream");
    metadata.effective_at_unix_ms = record->effective_at_unix_ms;
    metadata.n_labels = count;
    metadata.labels = entry_pointers;

    Healthledger__V1__TransactionBody transaction_body = HEALTHLEDGER__V1__TRANSACTION_BODY__INIT;
    transaction_body.chain_id = (char *)chain;
    transaction_body.author = (char *)author;
    transaction_body.sequence = sequence;
    transaction_body.created_at_unix_ms = created_at_unix_ms;
    transaction_body.operation_case = HEALTHLEDGER__V1__TRANSACTION_BODY__OPERATION_WRITE_RECORD;
    transaction_body.write_record = &metadata;
    body = hl_pack(&transaction_body.base, length);
done:
    free(labels), free(entries), free(entry_pointers);
    return body;
}

/* Packs and signs the write_record transaction at the client's next sequence. */
static int sign_write(hl_client *client, const hl_record_to_write *record, uint8_t **body, size_t *body_length,
                      uint8_t signature[HL_SIGNATURE_BYTES], hl_error *error) {
    int64_t now = hl_now_unix_ms();
    /* A device whose clock runs ahead of the node's signs with the node's time instead. */
    int64_t created_at = client->clock_offset_ms < -CLOCK_AHEAD_LIMIT_MS ? now + client->clock_offset_ms : now;
    *body = hl_encode_write_body(client->chain_id, hl_identity_principal_id(client->identity), client->next_sequence,
                                 created_at, record, body_length);
    if (*body == NULL) return hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
    if (*body_length > MAX_BODY_BYTES) {
        free(*body);
        *body = NULL;
        return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                            "the transaction body is %zu bytes; the node takes at most %d", *body_length, MAX_BODY_BYTES);
    }
    if (hl_identity_sign(client->identity, *body, *body_length, signature, error) != 0) {
        free(*body);
        *body = NULL;
        return -1;
    }
    return 0;
}

/* Checks a Write receipt (the entry holds `sent`, its proof leads to a signed checkpoint) and joins that checkpoint
 * to the trusted one. */
static int verify_receipt(hl_client *client, const Healthledger__V1__TransactionReceipt *receipt,
                          const Healthledger__V1__SignedTransaction *sent, const char *transaction_id,
                          hl_error *error) {
    Healthledger__V1__Checkpoint *checkpoint = NULL;
    int outcome = hl_verify_receipt(&client->trust, receipt, sent, transaction_id, &checkpoint, error);
    if (outcome == 0) {
        outcome = observe_checkpoint(client, checkpoint, error);
        healthledger__v1__checkpoint__free_unpacked(checkpoint, NULL);
    }
    return outcome != 0 ? rpc_error(error, "Write") : 0;
}

int hl_client_write(hl_client *client, const hl_record_to_write *record, hl_write_result *result, hl_error *error) {
    memset(result, 0, sizeof *result);
    if (require_identity(client, error) != 0 || check_record(record, error) != 0) return -1;
    if (record->content == NULL && record->content_length > 0) {
        return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT, "content is missing");
    }
    if (chain_id(client, error) == NULL || learn_next_sequence(client, error) != 0) return -1;

    uint8_t *body = NULL;
    size_t body_length = 0;
    uint8_t signature[HL_SIGNATURE_BYTES];
    if (sign_write(client, record, &body, &body_length, signature, error) != 0) return -1;
    uint8_t transaction_digest[SHA256_DIGEST_LENGTH];
    hl_sha256(body, body_length, transaction_digest);
    char transaction_id[HL_HEX_ID_LENGTH + 1];
    hl_hex(transaction_digest, sizeof transaction_digest, transaction_id);

    Healthledger__V1__PublicKey public_key = HEALTHLEDGER__V1__PUBLIC_KEY__INIT;
    fill_public_key(client->identity, &public_key);
    Healthledger__V1__SignedTransaction transaction = HEALTHLEDGER__V1__SIGNED_TRANSACTION__INIT;
    transaction.body.data = body;
    transaction.body.len = body_length;
    transaction.signature.data = signature;
    transaction.signature.len = sizeof signature;
    transaction.key_id = (char *)hl_identity_key_id(client->identity);
    if (!client->key_on_ledger) transaction.public_key = &public_key;

    int outcome = -1;
    for (int attempt = 1; attempt <= TRANSACTION_ATTEMPTS; attempt++) {
        write_stream stream = {.transaction = &transaction, .content = record->content, .length = record->content_length};
        unary_bytes collected = {.error = error};
        outcome = hl_call(client->connection, "Write", NULL, produce_write, &stream, collect_bytes, &collected, error);
        if (outcome == 0) {
            Healthledger__V1__WriteResponse *response = healthledger__v1__write_response__unpack(
                NULL, collected.bytes.length, collected.bytes.bytes);
            if (response == NULL || collected.count != 1) {
                outcome = hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_CLIENT, "cannot decode the node's WriteResponse");
                rpc_error(error, "Write");
            } else {
                snprintf(result->record_id, sizeof result->record_id, "%s", response->record_id);
                if (response->receipt != NULL) {
                    result->block_height = response->receipt->block_height;
                    result->entry_index = response->receipt->entry_index;
                }
                if (strcmp(result->record_id, transaction_id) != 0) {
                    outcome = hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_CLIENT,
                                           "the node says record %.64s; the transaction's id is %s",
                                           response->record_id, transaction_id);
                    rpc_error(error, "Write");
                } else {
                    outcome = verify_receipt(client, response->receipt, &transaction, transaction_id, error);
                }
                healthledger__v1__write_response__free_unpacked(response, NULL);
            }
        }
        hl_buffer_free(&collected.bytes);
        if (outcome == 0) break;
        if (error->code == HL_STATUS_ALREADY_EXISTS && error->origin == HL_ORIGIN_NODE && attempt > 1) {
            /* An earlier attempt whose answer was lost committed these very bytes. */
            snprintf(result->record_id, sizeof result->record_id, "%s", transaction_id);
            result->committed_by_earlier_attempt = true;
            outcome = 0;
            break;
        }
        bool unknown_outcome = error->code == HL_STATUS_UNAVAILABLE || error->code == HL_STATUS_DEADLINE_EXCEEDED;
        if (!unknown_outcome) break;
    }
    free(body);
    if (outcome == 0) {
        client->next_sequence++;
        client->key_on_ledger = true;
    } else if (error->code == HL_STATUS_FAILED_PRECONDITION || error->origin == HL_ORIGIN_VERIFICATION) {
        client->next_sequence = 0; /* Learn it again before the next transaction. */
    }
    return outcome;
}

/* ---- Query ---------------------------------------------------------------------------------------------- */

typedef struct query_state {
    const hl_trust *trust;
    /* The checkpoint the query's audit event was proved against, joined to the trusted one after the stream. */
    Healthledger__V1__Checkpoint *audit_checkpoint;
    const hl_query_handler *handler;
    bool include_content;
    Healthledger__V1__QueryResponse *current; /* owns the current Record */
    EVP_MD_CTX *digest;
    uint64_t received;
    uint64_t audit_sequence;
    bool started;
    hl_error *error;
} query_state;

static int finish_record(query_state *state) {
    if (state->current == NULL) return 0;
    const Healthledger__V1__Record *record = state->current->record;
    int refused = 0;
    if (state->include_content && !record->content_erased) {
        uint8_t digest[SHA256_DIGEST_LENGTH];
        EVP_DigestFinal_ex(state->digest, digest, NULL);
        const Healthledger__V1__RecordMetadata *metadata = record->metadata;
        if (metadata == NULL || state->received != metadata->size_bytes) {
            refused = hl_error_set(state->error, HL_STATUS_DATA_LOSS, HL_ORIGIN_CLIENT,
                                   "record %.64s: %llu content bytes arrived, its metadata says %llu", record->record_id,
                                   (unsigned long long)state->received,
                                   (unsigned long long)(metadata ? metadata->size_bytes : 0));
        } else if (metadata->content_sha256.len != sizeof digest ||
                   memcmp(metadata->content_sha256.data, digest, sizeof digest) != 0) {
            refused = hl_error_set(state->error, HL_STATUS_DATA_LOSS, HL_ORIGIN_CLIENT,
                                   "record %.64s: the content does not hash to its signed content_sha256",
                                   record->record_id);
        }
    }
    if (refused == 0 && state->handler->on_record_end != NULL &&
        state->handler->on_record_end(state->handler->context, record) != 0) {
        refused = hl_error_set(state->error, HL_STATUS_CANCELLED, HL_ORIGIN_CLIENT, "stopped by the caller");
    }
    healthledger__v1__query_response__free_unpacked(state->current, NULL);
    state->current = NULL;
    return refused ? 1 : 0;
}

static int on_query_message(void *context, const uint8_t *payload, size_t length) {
    query_state *state = context;
    Healthledger__V1__QueryResponse *response = healthledger__v1__query_response__unpack(NULL, length, payload);
    if (response == NULL) {
        hl_error_set(state->error, HL_STATUS_INTERNAL, HL_ORIGIN_CLIENT, "cannot decode a QueryResponse");
        return 1;
    }
    int refused = 0;
    switch (response->part_case) {
    case HEALTHLEDGER__V1__QUERY_RESPONSE__PART_STARTED:
        if (state->started) {
            hl_error_set(state->error, HL_STATUS_INTERNAL, HL_ORIGIN_CLIENT, "a second QueryStarted");
            refused = 1;
            break;
        }
        state->started = true;
        state->audit_sequence = response->started->audit_sequence;
        /* Before any record is handed over: the read must be in the signed log. */
        if (hl_verify_logged_audit_event(state->trust, response->started->audit_event, state->audit_sequence,
                                         &state->audit_checkpoint, state->error) != 0) {
            refused = 1;
        }
        break;
    case HEALTHLEDGER__V1__QUERY_RESPONSE__PART_RECORD:
        if (!state->started) {
            hl_error_set(state->error, HL_STATUS_INTERNAL, HL_ORIGIN_CLIENT, "a record before QueryStarted");
            refused = 1;
            break;
        }
        if (finish_record(state) != 0) {
            refused = 1;
            break;
        }
        state->current = response;
        response = NULL; /* kept until the record ends */
        state->received = 0;
        EVP_DigestInit_ex(state->digest, EVP_sha256(), NULL);
        if (state->handler->on_record != NULL &&
            state->handler->on_record(state->handler->context, state->current->record) != 0) {
            hl_error_set(state->error, HL_STATUS_CANCELLED, HL_ORIGIN_CLIENT, "stopped by the caller");
            refused = 1;
        }
        break;
    case HEALTHLEDGER__V1__QUERY_RESPONSE__PART_CHUNK:
        if (state->current == NULL || !state->include_content) {
            hl_error_set(state->error, HL_STATUS_INTERNAL, HL_ORIGIN_CLIENT,
                         "content arrived before its record, or was not asked for");
            refused = 1;
        } else if (response->chunk->offset_bytes != state->received) {
            hl_error_set(state->error, HL_STATUS_DATA_LOSS, HL_ORIGIN_CLIENT, "a chunk at offset %llu, expected %llu",
                         (unsigned long long)response->chunk->offset_bytes, (unsigned long long)state->received);
            refused = 1;
        } else {
            EVP_DigestUpdate(state->digest, response->chunk->data.data, response->chunk->data.len);
            state->received += response->chunk->data.len;
            if (state->handler->on_content != NULL &&
                state->handler->on_content(state->handler->context, state->current->record, response->chunk->data.data,
                                           response->chunk->data.len) != 0) {
                hl_error_set(state->error, HL_STATUS_CANCELLED, HL_ORIGIN_CLIENT, "stopped by the caller");
                refused = 1;
            }
        }
        break;
    default:
        hl_error_set(state->error, HL_STATUS_INTERNAL, HL_ORIGIN_CLIENT, "an empty QueryResponse");
        refused = 1;
        break;
    }
    if (response != NULL) healthledger__v1__query_response__free_unpacked(response, NULL);
    return refused;
}

int hl_client_query(hl_client *client, const hl_query_request *request, const hl_query_handler *handler,
                    uint64_t *audit_sequence, hl_error *error) {
    if (hl_principal_id_check(request->patient, error) != 0) return -1;
    if (request->category_count == 0 || request->category_count > 15) {
        return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT, "a query names 1 to 15 categories");
    }
    const char *token = hl_client_session_token(client, error);
    if (token == NULL) return -1;
    Healthledger__V1__QueryRequest query = HEALTHLEDGER__V1__QUERY_REQUEST__INIT;
    query.patient = (char *)request->patient;
    query.n_categories = request->category_count;
    query.categories = (Healthledger__V1__DataCategory *)request->categories;
    query.purpose = request->purpose ? request->purpose : HEALTHLEDGER__V1__PURPOSE__PURPOSE_TREATMENT;
    query.include_content = request->include_content;
    query.max_records = request->max_records;

    query_state state = {.trust = &client->trust, .handler = handler, .include_content = request->include_content,
                         .error = error, .digest = EVP_MD_CTX_new()};
    if (state.digest == NULL) return hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
    int outcome = hl_call(client->connection, "Query", token, hl_produce_single_message, &query.base,
                          on_query_message, &state, error);
    if (outcome == 0 && finish_record(&state) != 0) outcome = rpc_error(error, "Query");
    if (outcome == 0 && !state.started) {
        outcome = hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_CLIENT, "the query ended without QueryStarted");
        rpc_error(error, "Query");
    }
    if (state.current != NULL) healthledger__v1__query_response__free_unpacked(state.current, NULL);
    EVP_MD_CTX_free(state.digest);
    /* After the stream: the consistency proof is a call of its own on this connection. */
    if (outcome == 0 && observe_checkpoint(client, state.audit_checkpoint, error) != 0) {
        outcome = rpc_error(error, "Query");
    }
    if (state.audit_checkpoint != NULL) healthledger__v1__checkpoint__free_unpacked(state.audit_checkpoint, NULL);
    if (outcome == 0 && audit_sequence != NULL) *audit_sequence = state.audit_sequence;
    return outcome;
}
