/* healthledger-device: the command a device (a glucose meter, a lab analyser) runs to put readings on a patient's
 * record and read back what it may. Errors are one line on stderr; exit codes are those of docs/CLI.md. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "healthledger.h"

#define MAX_CONTENT_BYTES (64u * 1024u * 1024u)
#define MAX_LABELS 32
#define MAX_CATEGORIES 15

enum exit_code {
    EXIT_OK = 0,
    EXIT_FAILURE_OTHER = 1,
    EXIT_REFUSED = 2,
    EXIT_NOT_FOUND = 3,
    EXIT_UNREACHABLE = 4,
    EXIT_INVALID = 5,
    EXIT_UNTRUSTED = 6,
    EXIT_USAGE = 64,
};

static const char usage_text[] =
    "usage: healthledger-device [options] <command> [command options]\n"
    "\n"
    "commands:\n"
    "  keygen [--algorithm ed25519|p256]      create the identity file (never replaces one)\n"
    "  whoami                                  print the principal id, key id and algorithm\n"
    "  head                                    print the chain id, height, log size and node time\n"
    "  write --patient ID --category NAME [--file PATH|-] [--media-type TYPE]\n"
    "        [--effective-at-ms MS] [--label KEY=VALUE]...\n"
    "                                          sign and upload one record; prints its id\n"
    "  query --patient ID --category NAME[,NAME...] [--purpose NAME] [--metadata-only]\n"
    "        [--output-dir DIR]                read records; one line each, content to DIR/<record id>\n"
    "\n"
    "options:\n"
    "  --server HOST:PORT   the node (default $HEALTHLEDGER_SERVER, else 127.0.0.1:7443)\n"
    "  --plaintext          h2c instead of TLS (a node started with --plaintext)\n"
    "  --ca-file PATH       PEM CAs to trust (a dev node's <data-dir>/tls/ca.pem); default: the system's\n"
    "  --server-name NAME   name to check in the node's certificate (default: the host)\n"
    "  --identity PATH      identity file (default $HEALTHLEDGER_IDENTITY, else\n"
    "                       $XDG_CONFIG_HOME/healthledger/identity.pem or ~/.config/healthledger/identity.pem)\n"
    "  --timeout SECONDS    deadline of each call (default 30)\n"
    "  --checkpoint-file PATH  where the node keys pinned and the newest checkpoint verified are kept between\n"
    "                       runs (default $HEALTHLEDGER_CHECKPOINT_FILE; none: trust on first use every run)\n"
    "\n"
    "Receipts, the query's audit event and the node's checkpoints are verified; an answer that does not verify\n"
    "(a forked or rewritten history, a bad proof or signature) exits 6.\n";

typedef struct settings {
    char host[256];
    uint16_t port;
    bool plaintext;
    const char *ca_file;
    const char *server_name;
    const char *identity_path;
    const char *checkpoint_file;
    char default_identity[1024];
    int timeout_ms;
} settings;

static int usage_error(const char *format, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    fprintf(stderr, "error: ");
    vfprintf(stderr, format, arguments);
    fprintf(stderr, " (hint: healthledger-device --help)\n");
    va_end(arguments);
    return EXIT_USAGE;
}

static int exit_code_for(const hl_error *error) {
    if (error->origin == HL_ORIGIN_VERIFICATION) return EXIT_UNTRUSTED;
    switch (error->code) {
    case HL_STATUS_PERMISSION_DENIED:
    case HL_STATUS_UNAUTHENTICATED:
    case HL_STATUS_FAILED_PRECONDITION:
    case HL_STATUS_ALREADY_EXISTS:
    case HL_STATUS_RESOURCE_EXHAUSTED: return EXIT_REFUSED;
    case HL_STATUS_NOT_FOUND: return EXIT_NOT_FOUND;
    case HL_STATUS_UNAVAILABLE:
    case HL_STATUS_DEADLINE_EXCEEDED: return EXIT_UNREACHABLE;
    case HL_STATUS_INVALID_ARGUMENT: return EXIT_INVALID;
    default: return EXIT_FAILURE_OTHER;
    }
}

/* Set by main: named in the hint of an answer that does not verify, as the evidence to keep. */
static const char *evidence_file;

static int report(const hl_error *error) {
    char line[700];
    hl_error_format(error, line, sizeof line);
    if (error->origin == HL_ORIGIN_VERIFICATION) {
        fprintf(stderr, "error: %s (hint: do not rely on this node's answers; keep this output%s%s and tell its "
                        "operator)\n", line, evidence_file ? " and " : "", evidence_file ? evidence_file : "");
    } else {
        fprintf(stderr, "error: %s\n", line);
    }
    return exit_code_for(error);
}

/* HOST:PORT, [IPV6]:PORT, or a host alone (port 7443), as the healthledger command takes --server. */
static int parse_server(const char *text, settings *out) {
    const char *host = text, *port_text = NULL;
    size_t host_length = strlen(text);
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':')) return -1;
        host = text + 1;
        host_length = (size_t)(close - host);
        port_text = close[1] == ':' ? close + 2 : NULL;
    } else {
        const char *colon = strchr(text, ':');
        if (colon != NULL && strchr(colon + 1, ':') != NULL) return -1; /* a bare IPv6 address needs brackets */
        if (colon != NULL) {
            host_length = (size_t)(colon - text);
            port_text = colon + 1;
        }
    }
    if (host_length == 0 || host_length >= sizeof out->host) return -1;
    long port = 7443;
    if (port_text != NULL) {
        char *end = NULL;
        port = strtol(port_text, &end, 10);
        if (*port_text == '\0' || *end != '\0' || port < 1 || port > 65535) return -1;
    }
    memcpy(out->host, host, host_length);
    out->host[host_length] = '\0';
    out->port = (uint16_t)port;
    return 0;
}

static const char *default_identity_path(settings *out) {
    const char *configured = getenv("HEALTHLEDGER_IDENTITY");
    if (configured && *configured) return configured;
    const char *config_home = getenv("XDG_CONFIG_HOME");
    if (config_home && *config_home) {
        snprintf(out->default_identity, sizeof out->default_identity, "%s/healthledger/identity.pem", config_home);
    } else {
        const char *home = getenv("HOME");
        snprintf(out->default_identity, sizeof out->default_identity, "%s/.config/healthledger/identity.pem",
                 home ? home : ".");
    }
    return out->default_identity;
}

/* Reads a whole file (or stdin for "-") into memory: device readings are small, and the size and SHA-256 go into
 * the signed metadata before the first byte is sent. */
static int read_content(const char *path, uint8_t **content, size_t *length, hl_error *error) {
    FILE *file = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (file == NULL) {
        return hl_error_set(error, errno == ENOENT ? HL_STATUS_NOT_FOUND : HL_STATUS_INVALID_ARGUMENT,
                            HL_ORIGIN_CLIENT, "cannot open %s: %s", path, strerror(errno));
    }
    size_t capacity = 4096, used = 0;
    uint8_t *bytes = malloc(capacity);
    int result = 0;
    while (bytes != NULL) {
        if (used == capacity) {
            if (capacity >= MAX_CONTENT_BYTES) {
                result = hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT,
                                      "%s is larger than %u bytes, the most this tool uploads", path, MAX_CONTENT_BYTES);
                break;
            }
            uint8_t *grown = realloc(bytes, capacity * 2);
            if (grown == NULL) break;
            bytes = grown;
            capacity *= 2;
        }
        size_t count = fread(bytes + used, 1, capacity - used, file);
        used += count;
        if (count == 0) {
            if (ferror(file)) result = hl_error_set(error, HL_STATUS_INVALID_ARGUMENT, HL_ORIGIN_CLIENT, "cannot read %s", path);
            break;
        }
    }
    if (file != stdin) fclose(file);
    if (bytes == NULL) return hl_error_set(error, HL_STATUS_RESOURCE_EXHAUSTED, HL_ORIGIN_CLIENT, "out of memory");
    if (result != 0) {
        free(bytes);
        return -1;
    }
    *content = bytes;
    *length = used;
    return 0;
}

/* ---- Commands ------------------------------------------------------------------------------------------- */

static int command_keygen(settings *config, int argc, char **argv) {
    static const struct option options[] = {{"algorithm", required_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
    hl_key_algorithm algorithm = HL_KEY_ED25519;
    int option;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (option != 'a') return usage_error("%s", "bad keygen option");
        if (strcmp(optarg, "ed25519") == 0) {
            algorithm = HL_KEY_ED25519;
        } else if (strcmp(optarg, "p256") == 0) {
            algorithm = HL_KEY_ECDSA_P256;
        } else {
            return usage_error("unknown algorithm \"%s\" (expected ed25519 or p256)", optarg);
        }
    }
    hl_error error = {0};
    hl_identity *identity = hl_identity_generate(config->identity_path, algorithm, &error);
    if (identity == NULL) return report(&error);
    printf("%s\n", hl_identity_principal_id(identity));
    fprintf(stderr, "wrote %s (key id %s)\n", config->identity_path, hl_identity_key_id(identity));
    hl_identity_free(identity);
    return EXIT_OK;
}

static int command_whoami(hl_identity *identity) {
    printf("principal: %s\nkey-id: %s\nalgorithm: %s\n", hl_identity_principal_id(identity),
           hl_identity_key_id(identity), hl_identity_algorithm(identity) == HL_KEY_ED25519 ? "ed25519" : "p256");
    return EXIT_OK;
}

static int command_head(hl_client *client) {
    hl_error error = {0};
    Healthledger__V1__GetChainHeadResponse *head = NULL;
    if (hl_client_chain_head(client, &head, &error) != 0) return report(&error);
    printf("chain: %s\nheight: %llu\ntree-size: %llu\nnode-time-unix-ms: %lld\n", head->chain_id,
           (unsigned long long)head->height, (unsigned long long)head->tree_size,
           (long long)head->server_time_unix_ms);
    protobuf_c_message_free_unpacked(&head->base, NULL);
    return EXIT_OK;
}

static int command_write(hl_client *client, int argc, char **argv) {
    static const struct option options[] = {
        {"patient", required_argument, NULL, 'p'},    {"category", required_argument, NULL, 'c'},
        {"file", required_argument, NULL, 'f'},       {"media-type", required_argument, NULL, 'm'},
        {"effective-at-ms", required_argument, NULL, 'e'}, {"label", required_argument, NULL, 'l'},
        {NULL, 0, NULL, 0},
    };
    hl_record_to_write record = {0};
    const char *file = "-";
    const char *keys[MAX_LABELS], *values[MAX_LABELS];
    char *label_copies[MAX_LABELS];
    size_t labels = 0;
    int option, status = EXIT_OK;
    while (status == EXIT_OK && (option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        char *end = NULL;
        switch (option) {
        case 'p': record.patient = optarg; break;
        case 'c':
            record.category = hl_category_from_name(optarg);
            if (record.category == 0) status = usage_error("unknown category \"%s\"", optarg);
            break;
        case 'f': file = optarg; break;
        case 'm': record.media_type = optarg; break;
        case 'e':
            record.effective_at_unix_ms = strtoll(optarg, &end, 10);
            if (*end != '\0') status = usage_error("--effective-at-ms takes milliseconds since the epoch, not \"%s\"", optarg);
            break;
        case 'l': {
            char *equals = strchr(optarg, '=');
            if (equals == NULL || labels == MAX_LABELS) {
                status = usage_error("--label takes KEY=VALUE (at most 32), not \"%s\"", optarg);
                break;
            }
            label_copies[labels] = strdup(optarg);
            if (label_copies[labels] == NULL) {
                status = EXIT_FAILURE_OTHER;
                break;
            }
            label_copies[labels][equals - optarg] = '\0';
            keys[labels] = label_copies[labels];
            values[labels] = label_copies[labels] + (equals - optarg) + 1;
            labels++;
            break;
        }
        default: status = usage_error("%s", "bad write option");
        }
    }
    if (status == EXIT_OK && (record.patient == NULL || record.category == 0)) {
        status = usage_error("%s", "write needs --patient and --category");
    }
    uint8_t *content = NULL;
    hl_error error = {0};
    if (status == EXIT_OK) {
        record.label_keys = keys;
        record.label_values = values;
        record.label_count = labels;
        hl_write_result result;
        if (read_content(file, &content, &record.content_length, &error) != 0) {
            status = report(&error);
        } else {
            record.content = content;
            if (hl_client_write(client, &record, &result, &error) != 0) {
                status = report(&error);
            } else {
                printf("%s\n", result.record_id);
                fprintf(stderr, "committed in block %llu, log entry %llu%s\n", (unsigned long long)result.block_height,
                        (unsigned long long)result.entry_index,
                        result.committed_by_earlier_attempt ? " (by an earlier attempt)" : "");
            }
        }
    }
    free(content);
    for (size_t i = 0; i < labels; i++) free(label_copies[i]);
    return status;
}

/* Where query output goes: the listing on stdout, content to files. */
typedef struct query_output {
    const char *directory;
    FILE *file;
    char path[1200];
    bool failed;
} query_output;

static int on_record(void *context, const Healthledger__V1__Record *record) {
    query_output *output = context;
    const Healthledger__V1__RecordMetadata *metadata = record->metadata;
    printf("%s %s %llu %s %s%s\n", record->record_id, hl_category_name(metadata ? metadata->category : 0),
           (unsigned long long)(metadata ? metadata->size_bytes : 0), metadata ? metadata->media_type : "-",
           record->author, record->content_erased ? " erased" : "");
    if (output->directory != NULL && !record->content_erased) {
        snprintf(output->path, sizeof output->path, "%s/%s", output->directory, record->record_id);
        output->file = fopen(output->path, "wb");
        if (output->file == NULL) {
            fprintf(stderr, "error: cannot create %s: %s\n", output->path, strerror(errno));
            output->failed = true;
            return 1;
        }
    }
    return 0;
}

static int on_content(void *context, const Healthledger__V1__Record *record, const uint8_t *data, size_t length) {
    (void)record;
    query_output *output = context;
    if (output->file != NULL && fwrite(data, 1, length, output->file) != length) {
        fprintf(stderr, "error: cannot write %s: %s\n", output->path, strerror(errno));
        output->failed = true;
        return 1;
    }
    return 0;
}

static int on_record_end(void *context, const Healthledger__V1__Record *record) {
    (void)record;
    query_output *output = context;
    if (output->file != NULL) {
        int closed = fclose(output->file);
        output->file = NULL;
        if (closed != 0) {
            fprintf(stderr, "error: cannot write %s: %s\n", output->path, strerror(errno));
            output->failed = true;
            return 1;
        }
    }
    return 0;
}

static int command_query(hl_client *client, int argc, char **argv) {
    static const struct option options[] = {
        {"patient", required_argument, NULL, 'p'},  {"category", required_argument, NULL, 'c'},
        {"purpose", required_argument, NULL, 'u'},  {"metadata-only", no_argument, NULL, 'M'},
        {"output-dir", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0},
    };
    hl_query_request request = {.include_content = true, .purpose = HEALTHLEDGER__V1__PURPOSE__PURPOSE_TREATMENT};
    Healthledger__V1__DataCategory categories[MAX_CATEGORIES];
    query_output output = {0};
    int option;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (option) {
        case 'p': request.patient = optarg; break;
        case 'c': {
            char *list = strdup(optarg), *saved = NULL;
            if (list == NULL) return EXIT_FAILURE_OTHER;
            for (char *name = strtok_r(list, ",", &saved); name; name = strtok_r(NULL, ",", &saved)) {
                Healthledger__V1__DataCategory category = hl_category_from_name(name);
                if (category == 0 || request.category_count == MAX_CATEGORIES) {
                    int status = usage_error("unknown category or more than 15: \"%s\"", name);
                    free(list);
                    return status;
                }
                categories[request.category_count++] = category;
            }
            free(list);
            break;
        }
        case 'u':
            request.purpose = hl_purpose_from_name(optarg);
            if (request.purpose == 0) return usage_error("unknown purpose \"%s\"", optarg);
            break;
        case 'M': request.include_content = false; break;
        case 'o': output.directory = optarg; break;
        default: return usage_error("%s", "bad query option");
        }
    }
    if (request.patient == NULL || request.category_count == 0) {
        return usage_error("%s", "query needs --patient and --category");
    }
    request.categories = categories;
    hl_query_handler handler = {.on_record = on_record, .on_content = on_content, .on_record_end = on_record_end,
                                .context = &output};
    hl_error error = {0};
    uint64_t audit_sequence = 0;
    int failed = hl_client_query(client, &request, &handler, &audit_sequence, &error);
    if (output.file != NULL) fclose(output.file);
    if (output.failed) return EXIT_FAILURE_OTHER;
    if (failed) return report(&error);
    fprintf(stderr, "audited as event %llu\n", (unsigned long long)audit_sequence);
    return EXIT_OK;
}

/* Saves the checkpoint file when the client trusts a newer checkpoint than it started from (everything it trusts
 * was verified, even in a run that failed later for another reason). */
static int keep_checkpoint(hl_client *client, const char *path, const hl_trusted_checkpoint *before, int status) {
    hl_trusted_checkpoint now;
    if (path == NULL || !hl_client_trusted_checkpoint(client, &now)) return status;
    if (before != NULL && before->tree_size == now.tree_size) return status;
    hl_error error = {0};
    if (hl_client_save_checkpoint_file(client, path, &error) != 0) {
        int saving = report(&error);
        return status == EXIT_OK ? saving : status;
    }
    return status;
}

/* ---- Main ----------------------------------------------------------------------------------------------- */

int main(int argc, char **argv) {
    static const struct option options[] = {
        {"server", required_argument, NULL, 's'},   {"plaintext", no_argument, NULL, 'P'},
        {"ca-file", required_argument, NULL, 'C'},  {"server-name", required_argument, NULL, 'N'},
        {"identity", required_argument, NULL, 'i'}, {"timeout", required_argument, NULL, 't'},
        {"checkpoint-file", required_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    settings config = {.host = "127.0.0.1", .port = 7443, .timeout_ms = 30000};
    const char *server = getenv("HEALTHLEDGER_SERVER");
    if (server != NULL && *server && parse_server(server, &config) != 0) {
        return usage_error("HEALTHLEDGER_SERVER takes HOST:PORT, not \"%s\"", server);
    }
    int option;
    /* "+": stop at the command, whose own options are parsed after it. */
    while ((option = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        char *end = NULL;
        switch (option) {
        case 's':
            if (parse_server(optarg, &config) != 0) return usage_error("--server takes HOST:PORT, not \"%s\"", optarg);
            break;
        case 'P': config.plaintext = true; break;
        case 'C': config.ca_file = optarg; break;
        case 'N': config.server_name = optarg; break;
        case 'i': config.identity_path = optarg; break;
        case 'K': config.checkpoint_file = optarg; break;
        case 't': {
            double seconds = strtod(optarg, &end);
            if (*end != '\0' || seconds <= 0 || seconds > 3600) return usage_error("--timeout takes seconds, not \"%s\"", optarg);
            config.timeout_ms = (int)(seconds * 1000);
            break;
        }
        case 'h': fputs(usage_text, stdout); return EXIT_OK;
        default: return usage_error("%s", "unknown option");
        }
    }
    if (optind >= argc) return usage_error("%s", "no command");
    const char *command = argv[optind];
    int command_argc = argc - optind;
    char **command_argv = argv + optind;
    optind = 1;
    if (config.identity_path == NULL) config.identity_path = default_identity_path(&config);
    if (config.checkpoint_file == NULL && getenv("HEALTHLEDGER_CHECKPOINT_FILE") != NULL &&
        *getenv("HEALTHLEDGER_CHECKPOINT_FILE") != '\0') {
        config.checkpoint_file = getenv("HEALTHLEDGER_CHECKPOINT_FILE");
    }
    evidence_file = config.checkpoint_file;
    if (config.plaintext && config.ca_file != NULL) return usage_error("%s", "--ca-file is for TLS, not --plaintext");

    if (strcmp(command, "keygen") == 0) return command_keygen(&config, command_argc, command_argv);
    bool known = strcmp(command, "whoami") == 0 || strcmp(command, "head") == 0 || strcmp(command, "write") == 0 ||
                 strcmp(command, "query") == 0;
    if (!known) return usage_error("unknown command \"%s\"", command);

    hl_error error = {0};
    hl_identity *identity = NULL;
    if (strcmp(command, "head") != 0) {
        identity = hl_identity_load(config.identity_path, &error);
        if (identity == NULL) return report(&error);
    }
    if (strcmp(command, "whoami") == 0) {
        int status = command_whoami(identity);
        hl_identity_free(identity);
        return status;
    }
    hl_connection_options connection_options = {.host = config.host, .port = config.port,
                                                 .plaintext = config.plaintext, .ca_file = config.ca_file,
                                                 .server_name = config.server_name, .timeout_ms = config.timeout_ms};
    hl_connection *connection = hl_connection_open(&connection_options, &error);
    if (connection == NULL) {
        hl_identity_free(identity);
        return report(&error);
    }
    hl_client *client = hl_client_new(connection, identity);
    int status = EXIT_FAILURE_OTHER;
    hl_trusted_checkpoint before = {0};
    bool trusted_before = false;
    if (client == NULL) {
        fprintf(stderr, "error: out of memory\n");
    } else if (config.checkpoint_file != NULL && hl_client_load_checkpoint_file(client, config.checkpoint_file,
                                                                                &error) != 0) {
        status = report(&error);
    } else {
        trusted_before = hl_client_trusted_checkpoint(client, &before);
        if (strcmp(command, "head") == 0) {
            status = command_head(client);
        } else if (strcmp(command, "write") == 0) {
            status = command_write(client, command_argc, command_argv);
        } else {
            status = command_query(client, command_argc, command_argv);
        }
        status = keep_checkpoint(client, config.checkpoint_file, trusted_before ? &before : NULL, status);
    }
    hl_client_free(client);
    hl_connection_close(connection);
    hl_identity_free(identity);
    return status;
}
