/* Typed errors: gRPC status codes, their names, and the mapping of HTTP responses that carry no grpc-status. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *const status_names[] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
};

const char *hl_status_code_name(hl_status_code code) {
    if ((unsigned)code < sizeof status_names / sizeof status_names[0]) return status_names[code];
    return "UNKNOWN";
}

int hl_error_set(hl_error *error, hl_status_code code, hl_error_origin origin, const char *format, ...) {
    if (error == NULL) return -1;
    error->code = code;
    error->origin = origin;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error->message, sizeof error->message, format, arguments);
    va_end(arguments);
    /* One line, whatever a node or library put in the text. */
    for (char *c = error->message; *c; c++) {
        if (*c == '\n' || *c == '\r') *c = ' ';
    }
    return -1;
}

void hl_error_format(const hl_error *error, char *out, size_t capacity) {
    if (error->rpc[0] != '\0') {
        snprintf(out, capacity, "%s: %s: %s", error->rpc, hl_status_code_name(error->code), error->message);
    } else {
        snprintf(out, capacity, "%s: %s", hl_status_code_name(error->code), error->message);
    }
}

hl_status_code hl_status_from_http(int http_status) {
    switch (http_status) {
    case 400: return HL_STATUS_INTERNAL;
    case 401: return HL_STATUS_UNAUTHENTICATED;
    case 403: return HL_STATUS_PERMISSION_DENIED;
    case 404: return HL_STATUS_UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504: return HL_STATUS_UNAVAILABLE;
    default: return HL_STATUS_UNKNOWN;
    }
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void hl_grpc_message_decode(const char *value, size_t length, char *out, size_t capacity) {
    if (capacity == 0) return;
    size_t written = 0;
    for (size_t i = 0; i < length && written + 1 < capacity; i++) {
        if (value[i] == '%' && i + 2 < length && hex_value(value[i + 1]) >= 0 && hex_value(value[i + 2]) >= 0) {
            out[written++] = (char)(hex_value(value[i + 1]) * 16 + hex_value(value[i + 2]));
            i += 2;
        } else {
            out[written++] = value[i];
        }
    }
    out[written] = '\0';
}
