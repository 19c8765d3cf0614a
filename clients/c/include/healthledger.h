/* libhealthledger: a small C11 client of the HealthLedger gRPC API (proto/healthledger/v1) for devices.
 *
 * Messages are the protobuf-c code generated from proto/ (generated/, see regenerate); calls go over HTTP/2
 * (nghttp2) on TLS with ALPN h2 (OpenSSL) or on plaintext h2c. Keys are Ed25519 or ECDSA P-256 in the identity
 * file format the healthledger command and the Python client share. Every function that can fail returns 0 on
 * success and -1 on failure, filling the caller's hl_error. One call at a time per connection; no threads. */
#ifndef HEALTHLEDGER_H
#define HEALTHLEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "healthledger/v1/ledger_service.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Errors ------------------------------------------------------------------------------------------- */

/** gRPC status codes; every error carries one, whether the node sent it or the client decided it. */
typedef enum hl_status_code {
    HL_STATUS_OK = 0,
    HL_STATUS_CANCELLED = 1,
    HL_STATUS_UNKNOWN = 2,
    HL_STATUS_INVALID_ARGUMENT = 3,
    HL_STATUS_DEADLINE_EXCEEDED = 4,
    HL_STATUS_NOT_FOUND = 5,
    HL_STATUS_ALREADY_EXISTS = 6,
    HL_STATUS_PERMISSION_DENIED = 7,
    HL_STATUS_RESOURCE_EXHAUSTED = 8,
    HL_STATUS_FAILED_PRECONDITION = 9,
    HL_STATUS_ABORTED = 10,
    HL_STATUS_OUT_OF_RANGE = 11,
    HL_STATUS_UNIMPLEMENTED = 12,
    HL_STATUS_INTERNAL = 13,
    HL_STATUS_UNAVAILABLE = 14,
    HL_STATUS_DATA_LOSS = 15,
    HL_STATUS_UNAUTHENTICATED = 16,
} hl_status_code;

/** Who decided an error: the node's grpc-status, the connection (TCP, TLS, HTTP/2), or this client. */
typedef enum hl_error_origin {
    HL_ORIGIN_NONE = 0,
    HL_ORIGIN_NODE,
    HL_ORIGIN_TRANSPORT,
    HL_ORIGIN_CLIENT,
    /** The node's answer does not verify: a checkpoint not signed by a pinned node key or of another chain, a
     *  proof that fails, a receipt not holding the transaction sent, or a log that does not extend the trusted
     *  checkpoint (history rewritten, rolled back or forked). Always with HL_STATUS_DATA_LOSS; the message names
     *  the tree sizes and the first 8 hex digits of the roots involved. */
    HL_ORIGIN_VERIFICATION,
} hl_error_origin;

/** A failure: its gRPC status code, where it came from, and a one-line message for people. */
typedef struct hl_error {
    hl_status_code code;
    hl_error_origin origin;
    /** The RPC the error belongs to ("Write"), or empty when it belongs to none. */
    char rpc[32];
    char message[512];
} hl_error;

/** The canonical upper-case name of a status code ("PERMISSION_DENIED"), or "UNKNOWN" for other values. */
const char *hl_status_code_name(hl_status_code code);

/** Fills `error` with `code`, `origin` and a printf-formatted message; always returns -1. */
int hl_error_set(hl_error *error, hl_status_code code, hl_error_origin origin, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

/** Formats `error` as one line, "<rpc>: <CODE>: <message>", into `out` (truncated to `capacity`). */
void hl_error_format(const hl_error *error, char *out, size_t capacity);

/* ---- Ids ---------------------------------------------------------------------------------------------- */

/** Characters in a principal id ("hl1" + 38), without the terminating NUL. */
#define HL_PRINCIPAL_ID_LENGTH 41
/** Characters in a key id or transaction id (lowercase hex SHA-256), without the terminating NUL. */
#define HL_HEX_ID_LENGTH 64

/** Key id of raw public key bytes: lowercase hex SHA-256, written NUL-terminated into `out`. */
void hl_key_id(const uint8_t *key_bytes, size_t length, char out[HL_HEX_ID_LENGTH + 1]);

/** Principal id whose first key is `key_bytes`: Bech32m "hl" of SHA-256(key)[0..20), NUL-terminated. */
void hl_principal_id(const uint8_t *key_bytes, size_t length, char out[HL_PRINCIPAL_ID_LENGTH + 1]);

/** Checks that `text` is a principal id in the exact lowercase form the node accepts; says what is wrong. */
int hl_principal_id_check(const char *text, hl_error *error);

/** Lowercase hex of `length` bytes into `out`, which must hold 2 * length + 1 characters. */
void hl_hex(const uint8_t *bytes, size_t length, char *out);

/* ---- Identity (signing key) ---------------------------------------------------------------------------- */

/** Signature algorithms, numbered as identity.proto's KeyAlgorithm. */
typedef enum hl_key_algorithm {
    HL_KEY_ED25519 = 1,
    HL_KEY_ECDSA_P256 = 2,
} hl_key_algorithm;

/** Bytes of every signature the contract uses (Ed25519 R || S, P-256 r || s). */
#define HL_SIGNATURE_BYTES 64

/** A principal and the private key that signs for it, loaded from an identity file. */
typedef struct hl_identity hl_identity;

/** Loads an identity file (PKCS#8 PEM with principal/algorithm/key-id headers); refuses group/other access. */
hl_identity *hl_identity_load(const char *path, hl_error *error);

/** Creates a new principal with a fresh key and writes its identity file (mode 0600, never replacing one). */
hl_identity *hl_identity_generate(const char *path, hl_key_algorithm algorithm, hl_error *error);

/** Frees an identity and its private key; NULL is allowed. */
void hl_identity_free(hl_identity *identity);

/** The principal id the identity signs for. */
const char *hl_identity_principal_id(const hl_identity *identity);

/** The key id of the identity's signing key. */
const char *hl_identity_key_id(const hl_identity *identity);

/** The signing key's algorithm. */
hl_key_algorithm hl_identity_algorithm(const hl_identity *identity);

/** The raw public key bytes (32 for Ed25519, 65 for P-256); their count goes to `length`. */
const uint8_t *hl_identity_public_key(const hl_identity *identity, size_t *length);

/** Signs `message` into the contract's 64-byte raw form (P-256: SHA-256 digest, r || s, not DER). */
int hl_identity_sign(const hl_identity *identity, const uint8_t *message, size_t length,
                     uint8_t signature[HL_SIGNATURE_BYTES], hl_error *error);

/** Converts an ASN.1 DER ECDSA signature to r || s, each 32 bytes big-endian, left-padded with zeros. */
int hl_p256_signature_from_der(const uint8_t *der, size_t length, uint8_t raw[HL_SIGNATURE_BYTES],
                               hl_error *error);

/** The context-labelled message 0x00 || context || 0x00 || payload; malloc'd, its size in `length`. */
uint8_t *hl_context_labelled(const char *context, const uint8_t *payload, size_t payload_length,
                             size_t *length);

/** The message a CreateSession signature covers (context "healthledger.v1.session"); malloc'd. */
uint8_t *hl_session_message(const char *chain_id, const char *principal_id, const uint8_t *challenge,
                            size_t challenge_length, size_t *length);

/* ---- Connection --------------------------------------------------------------------------------------- */

/** Where the node is and how to reach it. */
typedef struct hl_connection_options {
    /** Host name or IP literal (brackets not needed for IPv6). */
    const char *host;
    uint16_t port;
    /** h2c (HTTP/2 without TLS) instead of TLS; for local nodes started with --plaintext. */
    bool plaintext;
    /** PEM file of the CAs to trust (a dev node's <data-dir>/tls/ca.pem); NULL: the system's CAs. */
    const char *ca_file;
    /** Name to check in the node's certificate and send as SNI; NULL: `host`. */
    const char *server_name;
    /** Deadline of every call in milliseconds (sent as grpc-timeout); 0 means 30,000. */
    int timeout_ms;
} hl_connection_options;

/** One HTTP/2 connection to a node, reopened on the next call when it broke. */
typedef struct hl_connection hl_connection;

/** Connects (TCP, then TLS with ALPN h2 and certificate verification, or h2c) and sends HTTP/2 settings. */
hl_connection *hl_connection_open(const hl_connection_options *options, hl_error *error);

/** Closes the connection (GOAWAY when it is still up) and frees it; NULL is allowed. */
void hl_connection_close(hl_connection *connection);

/** A unary call of healthledger.v1.Ledger/<method>; on success *response is the decoded answer, to be freed
 *  with protobuf_c_message_free_unpacked. `token` (may be NULL) is sent as "authorization: Bearer". */
int hl_call_unary(hl_connection *connection, const char *method, const char *token,
                  const ProtobufCMessage *request, const ProtobufCMessageDescriptor *response_descriptor,
                  ProtobufCMessage **response, hl_error *error);

/* ---- Verification ------------------------------------------------------------------------------------- */

/** Bytes of a SHA-256 hash (Merkle leaf, node and root hashes). */
#define HL_HASH_BYTES 32
/** Most characters of a chain id. */
#define HL_MAX_CHAIN_ID_LENGTH 64

/** A signed checkpoint a client verified: its log (tree_size entries, root_hash) is the prefix every later
 *  checkpoint must extend. */
typedef struct hl_trusted_checkpoint {
    char chain_id[HL_MAX_CHAIN_ID_LENGTH + 1];
    uint64_t tree_size;
    uint8_t root_hash[HL_HASH_BYTES];
    /** Height of the block whose end the checkpoint marks. */
    uint64_t block_height;
} hl_trusted_checkpoint;

/* ---- Client -------------------------------------------------------------------------------------------- */

/** One principal's use of a node: chain id, session and transaction sequence. */
typedef struct hl_client hl_client;

/** A client acting as `identity` (may be NULL for public calls) over `connection`; borrows both. */
hl_client *hl_client_new(hl_connection *connection, const hl_identity *identity);

/** Ends the session, if one was opened, and frees the client (not the connection or identity). */
void hl_client_free(hl_client *client);

/** GetChainHead; *head is to be freed with protobuf_c_message_free_unpacked. Pins the chain id and, when none
 *  are pinned yet, the node keys it lists (trust on first use); its checkpoint must verify and extend the
 *  trusted one (GetConsistencyProof), and becomes the trusted one when newer. */
int hl_client_chain_head(hl_client *client, Healthledger__V1__GetChainHeadResponse **head, hl_error *error);

/** Pins a node key (Ed25519, 32 bytes) checkpoints must be signed by; a client with pinned keys no longer takes
 *  them from GetChainHead. */
int hl_client_pin_node_key(hl_client *client, hl_key_algorithm algorithm, const uint8_t *key_bytes, size_t length,
                           hl_error *error);

/** How many node keys the client has pinned. */
size_t hl_client_node_key_count(const hl_client *client);

/** The raw bytes of pinned node key `index` (its count in `length`), or NULL past the last. */
const uint8_t *hl_client_node_key(const hl_client *client, size_t index, hl_key_algorithm *algorithm,
                                  size_t *length);

/** Starts from a checkpoint verified in an earlier run: the node's answers must extend it. Pin the node keys too
 *  (hl_client_pin_node_key), or GetChainHead's are taken. Call before anything else. */
int hl_client_start_from_checkpoint(hl_client *client, const hl_trusted_checkpoint *checkpoint, hl_error *error);

/** The newest checkpoint the client verified, into `out`; false when it has verified none yet. */
bool hl_client_trusted_checkpoint(const hl_client *client, hl_trusted_checkpoint *out);

/** Loads a checkpoint file (chain id, pinned node keys, trusted checkpoint; see README.md) into a new client;
 *  a missing file is no error and loads nothing. A damaged file is INVALID_ARGUMENT. */
int hl_client_load_checkpoint_file(hl_client *client, const char *path, hl_error *error);

/** Writes the client's chain id, pinned node keys and trusted checkpoint to `path` atomically (a temporary file
 *  in the same directory, fsync, rename, fsync of the directory), mode 0600. */
int hl_client_save_checkpoint_file(const hl_client *client, const char *path, hl_error *error);

/** A valid session token (CreateSessionChallenge, signature, CreateSession), created on first use. */
const char *hl_client_session_token(hl_client *client, hl_error *error);

/** A record for hl_client_write: metadata fields the writer chooses, and the content. */
typedef struct hl_record_to_write {
    /** Principal id of the patient the record is about. */
    const char *patient;
    Healthledger__V1__DataCategory category;
    /** IANA media type, e.g. "application/fhir+json"; NULL: "application/octet-stream". */
    const char *media_type;
    /** Clinical time of the reading, ms since the Unix epoch; 0: not given. */
    int64_t effective_at_unix_ms;
    const uint8_t *content;
    size_t content_length;
    /** Labels as parallel arrays of `label_count` keys and non-empty values; sorted by key when signed. */
    const char *const *label_keys;
    const char *const *label_values;
    size_t label_count;
} hl_record_to_write;

/** What a committed write returns. */
typedef struct hl_write_result {
    char record_id[HL_HEX_ID_LENGTH + 1];
    uint64_t block_height;
    uint64_t entry_index;
    /** True when a resubmission found the transaction already committed by an earlier attempt. */
    bool committed_by_earlier_attempt;
} hl_write_result;

/** Signs and writes a record (Write: the transaction, then the content in chunks). The receipt is verified: its
 *  ledger entry holds exactly the transaction signed, its inclusion proof leads to a checkpoint signed by a
 *  pinned node key, and that checkpoint extends the trusted one (HL_ORIGIN_VERIFICATION otherwise). A
 *  transaction whose outcome is unknown (UNAVAILABLE, DEADLINE_EXCEEDED) is resent with the very same bytes, up to 3 attempts. */
int hl_client_write(hl_client *client, const hl_record_to_write *record, hl_write_result *result,
                    hl_error *error);

/** What hl_client_query calls for each released record and each piece of its content. */
typedef struct hl_query_handler {
    /** A record starts; return non-zero to stop the query (it fails with CANCELLED). */
    int (*on_record)(void *context, const Healthledger__V1__Record *record);
    /** The next piece of the current record's content, in order. Non-zero stops the query. */
    int (*on_content)(void *context, const Healthledger__V1__Record *record, const uint8_t *data,
                      size_t length);
    /** A record's content arrived whole and matched its signed size and SHA-256 (also with none). */
    int (*on_record_end)(void *context, const Healthledger__V1__Record *record);
    void *context;
} hl_query_handler;

/** The read side of a query. */
typedef struct hl_query_request {
    const char *patient;
    const Healthledger__V1__DataCategory *categories;
    size_t category_count;
    Healthledger__V1__Purpose purpose;
    bool include_content;
    /** Most records; 0: the node's default (1,000). */
    uint32_t max_records;
} hl_query_request;

/** Query (server-streaming); content is checked against each record's signed size and SHA-256 before
 *  on_record_end, and the query's own audit event (QueryStarted) against its inclusion proof and signed
 *  checkpoint, which must extend the trusted one (HL_ORIGIN_VERIFICATION otherwise). `audit_sequence` (may be
 *  NULL) gets the sequence of the audit event that logged the read. */
int hl_client_query(hl_client *client, const hl_query_request *request, const hl_query_handler *handler,
                    uint64_t *audit_sequence, hl_error *error);

/* ---- Names -------------------------------------------------------------------------------------------- */

/** The category named as docs/CLI.md spells it ("labs", "clinical-notes"; '_' for '-', any case); 0 if none. */
Healthledger__V1__DataCategory hl_category_from_name(const char *name);

/** The docs/CLI.md name of a category ("labs"), or "unspecified". */
const char *hl_category_name(Healthledger__V1__DataCategory category);

/** The purpose named as docs/CLI.md spells it ("treatment", "patient-request"); 0 if none. */
Healthledger__V1__Purpose hl_purpose_from_name(const char *name);

#ifdef __cplusplus
}
#endif

#endif
