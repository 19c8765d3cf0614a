/* Pieces of libhealthledger that are pure logic (no sockets), shared between its files and its unit tests. */
#ifndef HEALTHLEDGER_INTERNAL_H
#define HEALTHLEDGER_INTERNAL_H

#include "healthledger.h"

/** Bytes of a gRPC message prefix: a compressed flag and a 4-byte big-endian length. */
#define HL_GRPC_PREFIX_BYTES 5
/** Largest message this client accepts from a node (a ledger entry is at most 1 MiB; chunks 1 MiB). */
#define HL_MAX_RECEIVE_MESSAGE_BYTES (8u * 1024u * 1024u)

/** A growable byte buffer. */
typedef struct hl_buffer {
    uint8_t *bytes;
    size_t length;
    size_t capacity;
} hl_buffer;

/** Appends bytes, growing the buffer; -1 when memory runs out. */
int hl_buffer_append(hl_buffer *buffer, const void *bytes, size_t length);

/** Frees the buffer's bytes and empties it. */
void hl_buffer_free(hl_buffer *buffer);

/** Appends one gRPC length-prefixed message (uncompressed) holding `message` packed. */
int hl_grpc_frame_message(hl_buffer *out, const ProtobufCMessage *message);

/** Called by the deframer with each complete message payload; non-zero stops it (the value is returned). */
typedef int (*hl_message_sink)(void *context, const uint8_t *payload, size_t length);

/** Splits a response body into gRPC messages however its bytes were cut into DATA frames. */
typedef struct hl_deframer {
    uint8_t prefix[HL_GRPC_PREFIX_BYTES];
    size_t prefix_length;
    hl_buffer payload;
    uint32_t expected;
    bool in_payload;
    size_t messages;
} hl_deframer;

/** Feeds body bytes; completes messages go to `sink`. -1 with `error` set for a compressed or oversized message,
 *  or the sink's refusal (then `error` is the sink's business). */
int hl_deframer_feed(hl_deframer *deframer, const uint8_t *bytes, size_t length, hl_message_sink sink,
                     void *context, hl_error *error);

/** Whether the body ended between messages (not inside a prefix or payload). */
bool hl_deframer_at_boundary(const hl_deframer *deframer);

/** Frees the deframer's buffer. */
void hl_deframer_free(hl_deframer *deframer);

/** Decodes a percent-encoded grpc-message value (gRPC over HTTP/2 spec) into `out`, NUL-terminated. */
void hl_grpc_message_decode(const char *value, size_t length, char *out, size_t capacity);

/** The status a response without grpc-status gets from its HTTP status (gRPC's HTTP-to-gRPC mapping). */
hl_status_code hl_status_from_http(int http_status);

/** Milliseconds since the Unix epoch (UTC). */
int64_t hl_now_unix_ms(void);

/** SHA-256 of `length` bytes into `digest`. */
void hl_sha256(const uint8_t *bytes, size_t length, uint8_t digest[32]);

/** Bech32m (BIP-350) string of `payload` under `hrp` into `out` (capacity at least strlen(hrp) + 1 + 6 +
 *  ceil(8 * length / 5) + 1). */
void hl_bech32m_encode(const char *hrp, const uint8_t *payload, size_t length, char *out);

/** Packs a message (deterministic for our bodies: fields in number order, oneof and optional presence as the
 *  contract wants); malloc'd, its size in `length`. */
uint8_t *hl_pack(const ProtobufCMessage *message, size_t *length);

/** Produces the request stream's next framed message(s) into `out`; sets *done after the last one. */
typedef int (*hl_request_producer)(void *context, hl_buffer *out, bool *done, hl_error *error);

/** The deterministic TransactionBody bytes of a write_record transaction (labels sorted by key); malloc'd. */
uint8_t *hl_encode_write_body(const char *chain_id, const char *author, uint64_t sequence, int64_t created_at_unix_ms,
                              const hl_record_to_write *record, size_t *length);

/** The producer of a request stream of one message: `context` is the ProtobufCMessage to send. */
int hl_produce_single_message(void *context, hl_buffer *out, bool *done, hl_error *error);

/** One call of healthledger.v1.Ledger/<method> of any kind: request messages from `producer`, response messages to
 *  `sink` as they arrive. A sink that returns non-zero must have filled `error`; the call is then cancelled. */
int hl_call(hl_connection *connection, const char *method, const char *token, hl_request_producer producer,
            void *producer_context, hl_message_sink sink, void *sink_context, hl_error *error);

/* ---- Verification (pure: merkle.c, verify.c) and the checkpoint file (checkpoint_file.c) ------------------ */

/** Most hashes a proof may carry: an inclusion path has at most 64, a consistency path at most 65. */
#define HL_MERKLE_MAX_PATH 65
/** The context of a node's checkpoint signature (identity.proto). */
#define HL_CHECKPOINT_CONTEXT "healthledger.v1.checkpoint"

/** RFC 9162 leaf hash: SHA-256(0x00 || entry). */
void hl_merkle_leaf_hash(const uint8_t *entry, size_t length, uint8_t out[HL_HASH_BYTES]);

/** RFC 9162 interior node hash: SHA-256(0x01 || left || right). */
void hl_merkle_node_hash(const uint8_t left[HL_HASH_BYTES], const uint8_t right[HL_HASH_BYTES],
                         uint8_t out[HL_HASH_BYTES]);

/** RFC 9162 section 2.1.3.2: whether `path` proves the leaf `leaf_hash` at `leaf_index` in the tree of `tree_size`
 *  leaves whose root is `root`. Any path element that is not 32 bytes, or more than 65 of them, fails. */
bool hl_merkle_verify_inclusion(uint64_t leaf_index, uint64_t tree_size, const uint8_t leaf_hash[HL_HASH_BYTES],
                                const ProtobufCBinaryData *path, size_t count, const uint8_t root[HL_HASH_BYTES]);

/** RFC 9162 section 2.1.4.2: whether `path` proves the tree of `first_size` leaves (root `first_root`) a prefix of
 *  the tree of `second_size` leaves (root `second_root`). Equal sizes need an empty path and equal roots. */
bool hl_merkle_verify_consistency(uint64_t first_size, uint64_t second_size, const uint8_t first_root[HL_HASH_BYTES],
                                  const uint8_t second_root[HL_HASH_BYTES], const ProtobufCBinaryData *path,
                                  size_t count);

/** A node key the client trusts checkpoints from. */
typedef struct hl_pinned_key {
    hl_key_algorithm algorithm;
    uint8_t bytes[32];
    size_t length;
    char key_id[HL_HEX_ID_LENGTH + 1];
} hl_pinned_key;

/** What a client trusts: the chain, the node keys pinned, and the newest checkpoint verified (its log the prefix
 *  of every later one). */
typedef struct hl_trust {
    char chain_id[HL_MAX_CHAIN_ID_LENGTH + 1];
    hl_pinned_key *keys;
    size_t key_count;
    bool has_checkpoint;
    hl_trusted_checkpoint checkpoint;
} hl_trust;

/** Adds a node key to `trust` (no duplicate); only Ed25519 keys of 32 bytes are taken. */
int hl_trust_pin_key(hl_trust *trust, hl_key_algorithm algorithm, const uint8_t *bytes, size_t length,
                     hl_error *error);

/** Frees the pinned keys and empties `trust`. */
void hl_trust_free(hl_trust *trust);

/** Checks a SignedCheckpoint: signed by a pinned key under the checkpoint context, the deterministic encoding of a
 *  Checkpoint of the trusted chain with a 32-byte root; the decoded Checkpoint goes to *out (free_unpacked). */
int hl_verify_signed_checkpoint(const hl_trust *trust, const Healthledger__V1__SignedCheckpoint *signed_checkpoint,
                                Healthledger__V1__Checkpoint **out, hl_error *error);

/** Checks an EntryProof of `entry` (LedgerEntry bytes) at `entry_index`, committed in block `block_height`: the
 *  checkpoint verifies, ends that block or a later one, and the inclusion proof leads to its root. */
int hl_verify_entry_proof(const hl_trust *trust, const uint8_t *entry, size_t entry_length, uint64_t entry_index,
                          uint64_t block_height, const Healthledger__V1__EntryProof *proof,
                          Healthledger__V1__Checkpoint **checkpoint, hl_error *error);

/** Checks a receipt: it names `transaction_id`, its ledger_entry is the deterministic LedgerEntry holding exactly
 *  `sent`, and its EntryProof verifies; the proof's Checkpoint goes to *checkpoint. */
int hl_verify_receipt(const hl_trust *trust, const Healthledger__V1__TransactionReceipt *receipt,
                      const Healthledger__V1__SignedTransaction *sent, const char *transaction_id,
                      Healthledger__V1__Checkpoint **checkpoint, hl_error *error);

/** Checks a LoggedAuditEvent: its ledger_entry holds exactly its event, whose sequence is `sequence`, and its
 *  EntryProof verifies; the proof's Checkpoint goes to *checkpoint. */
int hl_verify_logged_audit_event(const hl_trust *trust, const Healthledger__V1__LoggedAuditEvent *logged,
                                 uint64_t sequence, Healthledger__V1__Checkpoint **checkpoint, hl_error *error);

/** Checks that a node's head checkpoint is not behind the trusted one (a head is the node's whole log: a smaller
 *  one means history rolled back or forked). */
int hl_trust_check_head(const hl_trust *trust, const Healthledger__V1__Checkpoint *head, hl_error *error);

/** How a verified checkpoint joins the trusted one: 0 when it needs no proof (none trusted yet, an empty log, or
 *  the same size and root), 1 when a consistency proof from *first to *second is needed, -1 (a verification error)
 *  when the same size has another root. */
int hl_trust_proof_needed(const hl_trust *trust, const Healthledger__V1__Checkpoint *checkpoint, uint64_t *first,
                          uint64_t *second, hl_error *error);

/** Checks the GetConsistencyProof answer that hl_trust_proof_needed asked for between the trusted checkpoint and
 *  `checkpoint` (both checkpoints in it signed, of the sizes asked, with the roots already seen) and then trusts
 *  the newer of the two. */
int hl_trust_join(hl_trust *trust, const Healthledger__V1__Checkpoint *checkpoint,
                  const Healthledger__V1__GetConsistencyProofResponse *proof, hl_error *error);

/** Trusts `checkpoint` when nothing newer is trusted (after hl_trust_proof_needed said 0). */
void hl_trust_adopt(hl_trust *trust, const Healthledger__V1__Checkpoint *checkpoint);

/** The error of a node whose log cannot be the trusted one's: it has no checkpoint of the trusted size. */
int hl_trust_missing_checkpoint(const hl_trust *trust, const char *detail, hl_error *error);

/** The checkpoint file text of `trust` (chain, node keys, checkpoint); malloc'd. */
char *hl_trust_format(const hl_trust *trust);

/** Parses checkpoint file text into an empty `trust`; `path` names it in messages. */
int hl_trust_parse(hl_trust *trust, const char *text, const char *path, hl_error *error);

/** Reads and parses the checkpoint file at `path` into an empty `trust`; *found is false when there is none. */
int hl_trust_load(hl_trust *trust, const char *path, bool *found, hl_error *error);

/** Writes `trust` to `path` atomically: a temporary file beside it, fsync, rename, fsync of the directory. */
int hl_trust_save(const hl_trust *trust, const char *path, hl_error *error);

#endif
