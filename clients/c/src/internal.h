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

#endif
