/* The connection: TCP, then TLS (OpenSSL, ALPN h2, certificate verification) or h2c, with nghttp2 used as bytes
 * in, bytes out (mem_recv / mem_send) over a non-blocking socket and poll(). Calls run one at a time; their
 * deadline bounds every wait. A connection that broke (I/O error, deadline, GOAWAY) is reopened by the next call. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "internal.h"

#define DEFAULT_TIMEOUT_MS 30000
#define READ_BUFFER_BYTES 16384
#define STREAM_WINDOW_BYTES (1 << 20)
#define CONNECTION_WINDOW_BYTES (4 << 20)
#define USER_AGENT "healthledger-c/1.0"

/* The state of the one call in flight, as nghttp2's callbacks fill it. */
typedef struct call_state {
    int32_t stream_id;
    hl_request_producer producer;
    void *producer_context;
    hl_buffer pending;
    size_t pending_offset;
    bool producer_done;
    bool producer_failed;
    hl_message_sink sink;
    void *sink_context;
    bool sink_failed;
    hl_deframer deframer;
    int http_status;
    int grpc_status;
    char grpc_message[400];
    bool grpc_content_type;
    bool closed;
    uint32_t reset_code;
    hl_error *error;
} call_state;

struct hl_connection {
    char *host;
    char *ca_file;
    char *server_name;
    hl_connection_options options;
    char authority[300];
    int fd;
    SSL_CTX *tls_context;
    SSL *tls;
    nghttp2_session *session;
    call_state *call;
    uint64_t bytes_received;
    bool broken;
};

/* What to add to a connection failure when a plaintext connection never got a byte: most likely a TLS node. */
static const char *plaintext_hint(const hl_connection *connection) {
    return connection->options.plaintext && connection->bytes_received == 0
               ? " (hint: a node serving TLS needs --ca-file, not --plaintext)"
               : "";
}

/* ---- Socket and TLS I/O ---------------------------------------------------------------------------------- */

static int remaining_ms(int64_t deadline) {
    int64_t left = deadline - hl_now_unix_ms();
    return left < 0 ? 0 : (left > 60000 ? 60000 : (int)left);
}

static int wait_for(hl_connection *connection, short events, int64_t deadline, hl_error *error) {
    for (;;) {
        int left = remaining_ms(deadline);
        if (left == 0) {
            return hl_error_set(error, HL_STATUS_DEADLINE_EXCEEDED, HL_ORIGIN_TRANSPORT,
                                "no answer from the node at %s within %d ms", connection->authority,
                                connection->options.timeout_ms);
        }
        struct pollfd descriptor = {.fd = connection->fd, .events = events};
        int ready = poll(&descriptor, 1, left);
        if (ready > 0) return 0;
        if (ready < 0 && errno != EINTR) {
            return hl_error_set(error, HL_STATUS_UNAVAILABLE, HL_ORIGIN_TRANSPORT, "poll: %s", strerror(errno));
        }
    }
}

static const char *tls_reason(char *out, size_t capacity) {
    unsigned long code = ERR_get_error();
    if (code == 0) {
        snprintf(out, capacity, "%s", errno ? strerror(errno) : "connection closed");
    } else {
        ERR_error_string_n(code, out, capacity);
    }
    ERR_clear_error();
    return out;
}

/* Handles an OpenSSL WANT_READ/WANT_WRITE by waiting; anything else becomes an error (-1) or EOF (1). */
static int tls_wait_or_fail(hl_connection *connection, int result, int64_t deadline, const char *doing,
                            hl_error *error) {
    int code = SSL_get_error(connection->tls, result);
    if (code == SSL_ERROR_WANT_READ) return wait_for(connection, POLLIN, deadline, error);
    if (code == SSL_ERROR_WANT_WRITE) return wait_for(connection, POLLOUT, deadline, error);
    if (code == SSL_ERROR_ZERO_RETURN || (code == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0)) return 1;
    char reason[256];
    return hl_error_set(error, HL_STATUS_UNAVAILABLE, HL_ORIGIN_TRANSPORT, "TLS %s with %s failed: %s", doing,
                        connection->authority, tls_reason(reason, sizeof reason));
}

/* Reads what is there (at least one byte); 0 at end of stream, -1 on error or deadline. */
static ssize_t transport_read(hl_connection *connection, uint8_t *buffer, size_t capacity, int64_t deadline,
                              hl_error *error) {
    for (;;) {
        if (connection->tls != NULL) {
            ERR_clear_error();
            errno = 0;
            int count = SSL_read(connection->tls, buffer, (int)capacity);
            if (count > 0) return count;
            int outcome = tls_wait_or_fail(connection, count, deadline, "read", error);
            if (outcome != 0) return outcome > 0 ? 0 : -1;
        } else {
            ssize_t count = recv(connection->fd, buffer, capacity, 0);
            if (count >= 0) return count;
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                return hl_error_set(error, HL_STATUS_UNAVAILABLE, HL_ORIGIN_TRANSPORT, "reading from %s: %s%s",
                                    connection->authority, strerror(errno), plaintext_hint(connection));
            }
            if (wait_for(connection, POLLIN, deadline, error) != 0) return -1;
        }
    }
}

static int transport_write(hl_connection *connection, const uint8_t *bytes, size_t length, int64_t deadline,
                           hl_error *error) {
    while (length > 0) {
        if (connection->tls != NULL) {
            ERR_clear_error();
            errno = 0;
            int count = SSL_write(connection->tls, bytes, (int)(length > INT32_MAX ? INT32_MAX : length));
            if (count > 0) {
                bytes += count;
                length -= (size_t)count;
                continue;
            }
            int outcome = tls_wait_or_fail(connection, count, deadline, "write", error);
            if (outcome > 0) {
                return hl_error_set(error, HL_STATUS_UNAVAILABLE, HL_ORIGIN_TRANSPORT,
                                    "the node at %s closed the connection", connection->authority);
            }
            if (outcome < 0) return -1;
        } else {
            ssize_t count = send(connection->fd, bytes, length, MSG_NOSIGNAL);
            if (count > 0) {
                bytes += count;
                length -= (size_t)count;
                continue;
            }
            if (count < 0 && errno == EINTR) continue;
            if (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                return hl_error_set(error, HL_STATUS_UNAVAILABLE, HL_ORIGIN_TRANSPORT, "writing to %s: %s%s",
                                    connection->authority, strerror(errno), plaintext_hint(connection));
            }
            if (wait_for(connection, POLLOUT, deadline, error) != 0) return -1;
        }
    }
    return 0;
}

/* Sends everything nghttp2 has queued (frames, window updates, request DATA the flow-control windows allow). */
static int flush(hl_connection *connection, int64_t deadline, hl_error *error) {
    for (;;) {
        const uint8_t *data = NULL;
        ssize_t length = nghttp2_session_mem_send(connection->session, &data);
        if (length < 0) {
            return hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_TRANSPORT, "HTTP/2: %s",
                                nghttp2_strerror((int)length));
        }
        if (length == 0) return 0;
        if (transport_write(connection, data, (size_t)length, deadline, error) != 0) return -1;
    }
}

/* ---- nghttp2 callbacks: short, they only record what arrived ------------------------------------------------ */

static bool name_is(const uint8_t *name, size_t length, const char *expected) {
    return length == strlen(expected) && memcmp(name, expected, length) == 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name, size_t name_length,
                     const uint8_t *value, size_t value_length, uint8_t flags, void *user_data) {
    (void)session, (void)flags;
    hl_connection *connection = user_data;
    call_state *call = connection->call;
    if (call == NULL || frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != call->stream_id) return 0;
    if (name_is(name, name_length, ":status")) {
        call->http_status = atoi((const char *)value);
    } else if (name_is(name, name_length, "grpc-status")) {
        call->grpc_status = atoi((const char *)value);
    } else if (name_is(name, name_length, "grpc-message")) {
        hl_grpc_message_decode((const char *)value, value_length, call->grpc_message, sizeof call->grpc_message);
    } else if (name_is(name, name_length, "content-type")) {
        call->grpc_content_type = value_length >= 16 && memcmp(value, "application/grpc", 16) == 0;
    }
    return 0;
}

static int deliver_message(void *context, const uint8_t *payload, size_t length) {
    call_state *call = context;
    if (call->sink(call->sink_context, payload, length) != 0) {
        call->sink_failed = true;
        return 1;
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data,
                         size_t length, void *user_data) {
    (void)flags;
    hl_connection *connection = user_data;
    call_state *call = connection->call;
    if (call == NULL || stream_id != call->stream_id || call->sink_failed) return 0;
    if (hl_deframer_feed(&call->deframer, data, length, deliver_message, call, call->error) != 0) {
        call->sink_failed = true;
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
    }
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *user_data) {
    (void)session;
    hl_connection *connection = user_data;
    if (connection->call != NULL && stream_id == connection->call->stream_id) {
        connection->call->closed = true;
        connection->call->reset_code = error_code;
    }
    return 0;
}

/* Streams the request body: framed messages from the producer, pulled as flow control lets them go. */
static ssize_t read_request_body(nghttp2_session *session, int32_t stream_id, uint8_t *buffer, size_t length,
                                 uint32_t *data_flags, nghttp2_data_source *source, void *user_data) {
    (void)session, (void)stream_id, (void)user_data;
    call_state *call = source->ptr;
    while (call->pending_offset == call->pending.length && !call->producer_done) {
        call->pending.length = 0;
        call->pending_offset = 0;
        if (call->producer(call->producer_context, &call->pending, &call->producer_done, call->error) != 0) {
            call->producer_failed = true;
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
    }
    size_t available = call->pending.length - call->pending_offset;
    size_t count = available < length ? available : length;
    if (count > 0) memcpy(buffer, call->pending.bytes + call->pending_offset, count);
    call->pending_offset += count;
    if (call->producer_done && call->pending_offset == call->pending.length) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)count;
}

/* ---- Opening and closing ------------------------------------------------------------------------------------ */

static int connect_tcp(hl_connection *connection, int64_t deadline, hl_error *error) {
    char port[8];
    snprintf(port, sizeof port, "%u", connection->options.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *addresses = NULL;
    int resolved = getaddrinfo(connection->host, port, &hints, &addresses);
    if (resolved != 0) {
        return hl_error_set(error, HL_STATUS_UNAVAILABLE, HL_ORIGIN_TRANSPORT, "cannot resolve %s: %s",
                            connection->host, gai_strerror(resolved));
    }
    int last_errno = 0;
    for (struct addrinfo *address = addresses; address != NULL; address = address->ai_next) {
        int fd = socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, address->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        connection->fd = fd;
        int failure = 0;
        if (connect(fd, address->ai_addr, address->ai_addrlen) != 0) {
            failure = errno;
            hl_error ignored;
            if (failure == EINPROGRESS) {
                socklen_t size = sizeof failure;
                if (wait_for(connection, POLLOUT, deadline, &ignored) != 0) {
                    failure = ETIMEDOUT;
                } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &size) != 0) {
                    failure = errno;
                }
            }
        }
        if (failure == 0) {
            int on = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
            freeaddrinfo(addresses);
            return 0;
        }
        last_errno = failure;
        close(fd);
        connection->fd = -1;
    }
    freeaddrinfo(addresses);
    return hl_error_set(error, HL_STATUS_UNAVAILABLE, HL_ORIGIN_TRANSPORT,
                        "cannot reach the node at %s: %s (hint: is the node running? check --server)",
                        connection->authority, strerror(last_errno));
}

static int start_tls(hl_connection *connection, int64_t deadline, hl_error *error) {
    char reason[256];
    connection->tls_context = SSL_CTX_new(TLS_client_method());
    if (connection->tls_context == NULL) {
        return hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_TRANSPORT, "TLS: %s", tls_reason(reason, sizeof reason));
    }
    SSL_CTX_set_min_proto_version(connection->tls_context, TLS1_2_VERSION);
    SSL_CTX_set_verify(connection->tls_context, SSL_VERIFY_PEER, NULL);
    if (connection->ca_file != NULL) {
        if (access(connection->ca_file, R_OK) != 0) {
            return hl_error_set(error, HL_STATUS_NOT_FOUND, HL_ORIGIN_CLIENT, "cannot read the CA file %s: %s",
                                connection->ca_file, strerror(errno));
        }
        if (SSL_CTX_load_verify_locations(connection->tls_context, connection->ca_file, NULL) != 1) {
            return hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                                "the CA file %s holds no PEM certificate: %s", connection->ca_file,
                                tls_reason(reason, sizeof reason));
        }
    } else if (SSL_CTX_set_default_verify_paths(connection->tls_context) != 1) {
        return hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_TRANSPORT, "cannot load the system's CAs: %s",
                            tls_reason(reason, sizeof reason));
    }
    static const unsigned char alpn[] = {2, 'h', '2'};
    SSL_CTX_set_alpn_protos(connection->tls_context, alpn, sizeof alpn);

    connection->tls = SSL_new(connection->tls_context);
    if (connection->tls == NULL || SSL_set_fd(connection->tls, connection->fd) != 1) {
        return hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_TRANSPORT, "TLS: %s", tls_reason(reason, sizeof reason));
    }
    const char *name = connection->server_name ? connection->server_name : connection->host;
    unsigned char address[16];
    bool ip_literal = inet_pton(AF_INET, name, address) == 1 || inet_pton(AF_INET6, name, address) == 1;
    if (ip_literal) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(connection->tls), name);
    } else {
        SSL_set_tlsext_host_name(connection->tls, name);
        SSL_set1_host(connection->tls, name);
    }
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int result = SSL_connect(connection->tls);
        if (result == 1) break;
        int code = SSL_get_error(connection->tls, result);
        if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
            if (wait_for(connection, code == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, error) != 0) return -1;
            continue;
        }
        long verification = SSL_get_verify_result(connection->tls);
        if (verification != X509_V_OK) {
            return hl_error_set(error, HL_STATUS_UNAVAILABLE, HL_ORIGIN_TRANSPORT,
                                "TLS certificate verification failed for %s: %s (hint: trust the node's CA with "
                                "--ca-file, e.g. <data-dir>/tls/ca.pem)",
                                name, X509_verify_cert_error_string(verification));
        }
        return hl_error_set(error, HL_STATUS_UNAVAILABLE, HL_ORIGIN_TRANSPORT,
                            "TLS handshake with %s failed: %s (hint: a node started with --plaintext needs "
                            "--plaintext here)",
                            connection->authority, tls_reason(reason, sizeof reason));
    }
    const unsigned char *protocol = NULL;
    unsigned int protocol_length = 0;
    SSL_get0_alpn_selected(connection->tls, &protocol, &protocol_length);
    if (protocol_length != 2 || memcmp(protocol, "h2", 2) != 0) {
        return hl_error_set(error, HL_STATUS_UNAVAILABLE, HL_ORIGIN_TRANSPORT,
                            "the server at %s did not agree to HTTP/2 (ALPN h2); it is not a HealthLedger node",
                            connection->authority);
    }
    return 0;
}

static int start_http2(hl_connection *connection, int64_t deadline, hl_error *error) {
    nghttp2_session_callbacks *callbacks = NULL;
    if (nghttp2_session_callbacks_new(&callbacks) != 0) {
        return hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
    }
    nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
    int created = nghttp2_session_client_new(&connection->session, callbacks, connection);
    nghttp2_session_callbacks_del(callbacks);
    if (created != 0) return hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_CLIENT, "HTTP/2: %s", nghttp2_strerror(created));
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW_BYTES},
    };
    nghttp2_submit_settings(connection->session, NGHTTP2_FLAG_NONE, settings, sizeof settings / sizeof settings[0]);
    nghttp2_session_set_local_window_size(connection->session, NGHTTP2_FLAG_NONE, 0, CONNECTION_WINDOW_BYTES);
    return flush(connection, deadline, error);
}

static void teardown(hl_connection *connection) {
    if (connection->session != NULL && !connection->broken) {
        /* A polite GOAWAY and TLS close_notify, best effort and without waiting for the node. */
        hl_error ignored;
        nghttp2_session_terminate_session(connection->session, NGHTTP2_NO_ERROR);
        flush(connection, hl_now_unix_ms() + 200, &ignored);
        if (connection->tls != NULL) SSL_shutdown(connection->tls);
    }
    nghttp2_session_del(connection->session);
    connection->session = NULL;
    SSL_free(connection->tls);
    connection->tls = NULL;
    SSL_CTX_free(connection->tls_context);
    connection->tls_context = NULL;
    if (connection->fd >= 0) close(connection->fd);
    connection->fd = -1;
    ERR_clear_error();
}

static int establish(hl_connection *connection, hl_error *error) {
    int64_t deadline = hl_now_unix_ms() + connection->options.timeout_ms;
    connection->broken = false;
    connection->bytes_received = 0;
    if (connect_tcp(connection, deadline, error) != 0 ||
        (!connection->options.plaintext && start_tls(connection, deadline, error) != 0) ||
        start_http2(connection, deadline, error) != 0) {
        connection->broken = true;
        teardown(connection);
        return -1;
    }
    return 0;
}

static char *copy_or_null(const char *text) { return text ? strdup(text) : NULL; }

hl_connection *hl_connection_open(const hl_connection_options *options, hl_error *error) {
    if (options->host == NULL || options->host[0] == '\0' || options->port == 0) {
        hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT, "the node's host and port are required");
        return NULL;
    }
    if (options->plaintext && options->ca_file != NULL) {
        hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT,
                     "a CA file is for TLS; a plaintext connection has none");
        return NULL;
    }
    hl_connection *connection = calloc(1, sizeof *connection);
    if (connection == NULL) {
        hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
        return NULL;
    }
    connection->fd = -1;
    connection->options = *options;
    if (connection->options.timeout_ms <= 0) connection->options.timeout_ms = DEFAULT_TIMEOUT_MS;
    connection->host = strdup(options->host);
    connection->ca_file = copy_or_null(options->ca_file);
    connection->server_name = copy_or_null(options->server_name);
    connection->options.host = connection->options.ca_file = connection->options.server_name = NULL;
    bool ipv6 = strchr(options->host, ':') != NULL;
    snprintf(connection->authority, sizeof connection->authority, ipv6 ? "[%s]:%u" : "%s:%u", options->host,
             options->port);
    if (connection->host == NULL || (options->ca_file && !connection->ca_file) ||
        (options->server_name && !connection->server_name)) {
        hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
        hl_connection_close(connection);
        return NULL;
    }
    if (establish(connection, error) != 0) {
        hl_connection_close(connection);
        return NULL;
    }
    return connection;
}

void hl_connection_close(hl_connection *connection) {
    if (connection == NULL) return;
    teardown(connection);
    free(connection->host);
    free(connection->ca_file);
    free(connection->server_name);
    free(connection);
}

/* ---- Calls ------------------------------------------------------------------------------------------------- */

/* Reads and feeds nghttp2 until the call's stream is closed. */
static int pump(hl_connection *connection, call_state *call, int64_t deadline, hl_error *error) {
    uint8_t buffer[READ_BUFFER_BYTES];
    for (;;) {
        if (flush(connection, deadline, error) != 0) return -1;
        if (call->closed) return 0;
        if (!nghttp2_session_want_read(connection->session) && !nghttp2_session_want_write(connection->session)) {
            return hl_error_set(error, HL_STATUS_UNAVAILABLE, HL_ORIGIN_TRANSPORT,
                                "the node at %s ended the connection", connection->authority);
        }
        ssize_t count = transport_read(connection, buffer, sizeof buffer, deadline, error);
        if (count < 0) return -1;
        if (count == 0) {
            return hl_error_set(error, HL_STATUS_UNAVAILABLE, HL_ORIGIN_TRANSPORT,
                                "the node at %s closed the connection%s", connection->authority,
                                plaintext_hint(connection));
        }
        connection->bytes_received += (uint64_t)count;
        ssize_t used = nghttp2_session_mem_recv(connection->session, buffer, (size_t)count);
        if (used < 0) {
            return hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_TRANSPORT, "HTTP/2 error from %s: %s",
                                connection->authority, nghttp2_strerror((int)used));
        }
    }
}

/* The call's outcome once its stream closed: the node's grpc-status first, then what HTTP/2 said. */
static int outcome(const call_state *call, hl_error *error) {
    if (call->grpc_status >= 0) {
        if (call->grpc_status == 0) {
            if (!hl_deframer_at_boundary(&call->deframer)) {
                return hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_TRANSPORT,
                                    "the response ended inside a message");
            }
            return 0;
        }
        return hl_error_set(error, call->grpc_status <= 16 ? (hl_status_code)call->grpc_status : HL_STATUS_UNKNOWN,
                            HL_ORIGIN_NODE, "%s", call->grpc_message[0] ? call->grpc_message : "(no message)");
    }
    if (call->http_status != 0 && call->http_status != 200) {
        return hl_error_set(error, hl_status_from_http(call->http_status), HL_ORIGIN_TRANSPORT,
                            "the server answered HTTP %d without a gRPC status", call->http_status);
    }
    if (call->reset_code == NGHTTP2_REFUSED_STREAM) {
        return hl_error_set(error, HL_STATUS_UNAVAILABLE, HL_ORIGIN_TRANSPORT, "the node refused the stream");
    }
    if (call->reset_code == NGHTTP2_CANCEL) {
        return hl_error_set(error, HL_STATUS_CANCELLED, HL_ORIGIN_TRANSPORT, "the node cancelled the call");
    }
    if (call->reset_code != NGHTTP2_NO_ERROR) {
        return hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_TRANSPORT, "the node reset the stream (%s)",
                            nghttp2_http2_strerror(call->reset_code));
    }
    if (call->http_status == 200 && !call->grpc_content_type) {
        return hl_error_set(error, HL_STATUS_UNKNOWN, HL_ORIGIN_TRANSPORT, "the answer is not gRPC (content-type)");
    }
    return hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_TRANSPORT, "the call ended without a grpc-status");
}

#define HEADER(name, value)                                                                                    \
    {(uint8_t *)(name), (uint8_t *)(value), sizeof(name) - 1, strlen(value), NGHTTP2_NV_FLAG_NONE}

int hl_call(hl_connection *connection, const char *method, const char *token, hl_request_producer producer,
            void *producer_context, hl_message_sink sink, void *sink_context, hl_error *error) {
    error->rpc[0] = '\0';
    if (connection->broken || connection->session == NULL) {
        teardown(connection);
        if (establish(connection, error) != 0) goto failed;
    }
    char path[96], timeout[24], authorization[600];
    snprintf(path, sizeof path, "/healthledger.v1.Ledger/%s", method);
    snprintf(timeout, sizeof timeout, "%dm", connection->options.timeout_ms);
    snprintf(authorization, sizeof authorization, "Bearer %s", token ? token : "");
    nghttp2_nv headers[] = {
        HEADER(":method", "POST"),
        HEADER(":scheme", connection->options.plaintext ? "http" : "https"),
        HEADER(":path", path),
        HEADER(":authority", connection->authority),
        HEADER("content-type", "application/grpc+proto"),
        HEADER("te", "trailers"),
        HEADER("user-agent", USER_AGENT),
        HEADER("grpc-timeout", timeout),
        HEADER("authorization", authorization),
    };
    size_t header_count = sizeof headers / sizeof headers[0] - (token ? 0 : 1);

    call_state call = {.producer = producer, .producer_context = producer_context, .sink = sink,
                       .sink_context = sink_context, .grpc_status = -1, .error = error};
    nghttp2_data_provider body = {.source = {.ptr = &call}, .read_callback = read_request_body};
    int64_t deadline = hl_now_unix_ms() + connection->options.timeout_ms;
    connection->call = &call;
    call.stream_id = nghttp2_submit_request(connection->session, NULL, headers, header_count, &body, NULL);
    int result;
    if (call.stream_id < 0) {
        result = hl_error_set(error, HL_STATUS_UNAVAILABLE, HL_ORIGIN_TRANSPORT, "cannot start a call: %s",
                              nghttp2_strerror(call.stream_id));
        connection->broken = true;
    } else if (pump(connection, &call, deadline, error) != 0) {
        /* The connection's state is unknown now (an I/O error, or a deadline with the stream still open). */
        connection->broken = true;
        result = -1;
    } else if (call.sink_failed || call.producer_failed) {
        result = -1; /* The sink or producer filled `error`. */
    } else {
        result = outcome(&call, error);
    }
    connection->call = NULL;
    hl_buffer_free(&call.pending);
    hl_deframer_free(&call.deframer);
    if (result == 0) return 0;
failed:
    snprintf(error->rpc, sizeof error->rpc, "%s", method);
    return -1;
}

/* Collects the single message of a unary response. */
typedef struct unary_response {
    hl_buffer bytes;
    size_t count;
    hl_error *error;
} unary_response;

static int collect_unary(void *context, const uint8_t *payload, size_t length) {
    unary_response *response = context;
    if (++response->count > 1) {
        hl_error_set(response->error, HL_STATUS_INTERNAL, HL_ORIGIN_TRANSPORT, "a unary call answered more than once");
        return 1;
    }
    if (hl_buffer_append(&response->bytes, payload, length) != 0) {
        hl_error_set(response->error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
        return 1;
    }
    return 0;
}

int hl_produce_single_message(void *context, hl_buffer *out, bool *done, hl_error *error) {
    *done = true;
    if (hl_grpc_frame_message(out, (const ProtobufCMessage *)context) != 0) {
        return hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
    }
    return 0;
}

int hl_call_unary(hl_connection *connection, const char *method, const char *token,
                  const ProtobufCMessage *request, const ProtobufCMessageDescriptor *response_descriptor,
                  ProtobufCMessage **response, hl_error *error) {
    *response = NULL;
    unary_response collected = {.error = error};
    int result = hl_call(connection, method, token, hl_produce_single_message, (void *)request, collect_unary,
                         &collected, error);
    if (result == 0 && collected.count != 1) {
        hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_TRANSPORT, "the node answered OK without a message");
        snprintf(error->rpc, sizeof error->rpc, "%s", method);
        result = -1;
    }
    if (result == 0) {
        *response = protobuf_c_message_unpack(response_descriptor, NULL, collected.bytes.length, collected.bytes.bytes);
        if (*response == NULL) {
            hl_error_set(error, HL_STATUS_INTERNAL, HL_ORIGIN_TRANSPORT, "cannot decode the node's %s",
                         response_descriptor->name);
            snprintf(error->rpc, sizeof error->rpc, "%s", method);
            result = -1;
        }
    }
    hl_buffer_free(&collected.bytes);
    return result;
}
