/* gRPC's length-prefixed messages (5-byte prefix: compressed flag, 4-byte big-endian length) in both
 * directions. Pure byte logic: no sockets, so every way a body can be cut into DATA frames is unit-testable. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int hl_buffer_append(hl_buffer *buffer, const void *bytes, size_t length) {
    if (length == 0) return 0;
    if (buffer->length + length > buffer->capacity) {
        size_t capacity = buffer->capacity ? buffer->capacity : 256;
        while (capacity < buffer->length + length) capacity *= 2;
        uint8_t *grown = realloc(buffer->bytes, capacity);
        if (grown == NULL) return -1;
        buffer->bytes = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->bytes + buffer->length, bytes, length);
    buffer->length += length;
    return 0;
}

void hl_buffer_free(hl_buffer *buffer) {
    free(buffer->bytes);
    *buffer = (hl_buffer){0};
}

uint8_t *hl_pack(const ProtobufCMessage *message, size_t *length) {
    *length = protobuf_c_message_get_packed_size(message);
    uint8_t *bytes = malloc(*length ? *length : 1);
    if (bytes == NULL) return NULL;
    protobuf_c_message_pack(message, bytes);
    return bytes;
}

int hl_grpc_frame_message(hl_buffer *out, const ProtobufCMessage *message) {
    size_t length = protobuf_c_message_get_packed_size(message);
    if (length > UINT32_MAX) return -1;
    uint8_t prefix[HL_GRPC_PREFIX_BYTES] = {0, (uint8_t)(length >> 24), (uint8_t)(length >> 16),
                                            (uint8_t)(length >> 8), (uint8_t)length};
    if (hl_buffer_append(out, prefix, sizeof prefix) != 0) return -1;
    if (length == 0) return 0;
    if (out->length + length > out->capacity) {
        /* Grow once, then pack in place rather than through a temporary copy. */
        size_t needed = out->length + length;
        uint8_t *grown = realloc(out->bytes, needed);
        if (grown == NULL) return -1;
        out->bytes = grown;
        out->capacity = needed;
    }
    protobuf_c_message_pack(message, out->bytes + out->length);
    out->length += length;
    return 0;
}

int hl_deframer_feed(hl_deframer *deframer, const uint8_t *bytes, size_t length, hl_message_sink sink,
                     void *context, hl_error *error) {
    while (length > 0) {
        if (!deframer->in_payload) {
            size_t take = HL_GRPC_PREFIX_BYTES - deframer->prefix_length;
            if (take > length) take = length;
            memcpy(deframer->prefix + deframer->prefix_length, bytes, take);
            deframer->prefix_length += take;
            bytes += take;
            length -= take;
            if (deframer->prefix_length < HL_GRPC_PREFIX_BYTES) return 0;
            if (deframer->prefix[0] != 0) {
                /* This client never offers a compression (no grpc-accept-encoding), so none may be used. */
                return hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_TRANSPORT,
                                    "the node sent a compressed message (flag %u) though no compression was offered",
                                    deframer->prefix[0]);
            }
            deframer->expected = (uint32_t)deframer->prefix[1] << 24 | (uint32_t)deframer->prefix[2] << 16 |
                                 (uint32_t)deframer->prefix[3] << 8 | deframer->prefix[4];
            if (deframer->expected > HL_MAX_RECEIVE_MESSAGE_BYTES) {
                return hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_TRANSPORT,
                                    "the node sent a %u-byte message; this client takes at most %u",
                                    deframer->expected, HL_MAX_RECEIVE_MESSAGE_BYTES);
            }
            deframer->in_payload = true;
            deframer->payload.length = 0;
        }
        size_t missing = deframer->expected - deframer->payload.length;
        if (missing > 0 && length > 0) {
            size_t take = missing < length ? missing : length;
            if (deframer->payload.length == 0 && take == deframer->expected) {
                /* The whole message is in this piece: hand it over without copying. */
                deframer->in_payload = false;
                deframer->prefix_length = 0;
                deframer->messages++;
                int refused = sink(context, bytes, take);
                if (refused) return -1;
                bytes += take;
                length -= take;
                continue;
            }
            if (hl_buffer_append(&deframer->payload, bytes, take) != 0) {
                return hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
            }
            bytes += take;
            length -= take;
        }
        if (deframer->payload.length == deframer->expected) {
            deframer->in_payload = false;
            deframer->prefix_length = 0;
            deframer->messages++;
            if (sink(context, deframer->payload.bytes, deframer->payload.length)) return -1;
        }
    }
    return 0;
}

bool hl_deframer_at_boundary(const hl_deframer *deframer) {
    return !deframer->in_payload && deframer->prefix_length == 0;
}

void hl_deframer_free(hl_deframer *deframer) {
    hl_buffer_free(&deframer->payload);
}
