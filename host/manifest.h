/*
 * The manifest: the operator's YAML (or JSON) file.  manifest_load() parses
 * it with libyaml, substitutes ${VAR} / ${VAR:-default} from the
 * environment in every scalar, replaces each `<key>_file: PATH` by `<key>`
 * holding the file's contents (trailing newline removed, registered as a
 * secret for log redaction), checks every field's type and value, and
 * returns pure data.  It never loads a plugin.
 *
 * Every error names file:line:column, the field path and the reason, e.g.
 *   manifests/demo.yaml:14:7: passes[1].concurrency: expected a positive
 *   integer, got "many"
 */
#ifndef HOST_MANIFEST_H
#define HOST_MANIFEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "schedule.h"

struct mf_pos {
    int line; /* 1-based; 0 = unknown */
    int col;  /* 1-based */
};

struct mf_aspect_ref {
    char *name;
    bool optional; /* written as `name?` in `inputs` */
    struct mf_pos pos;
};

enum mf_pass_kind { MF_KIND_SOURCE = 1, MF_KIND_ENTITY = 2, MF_KIND_BATCH = 3 };

struct mf_pass {
    char *name;   /* unique, [a-z0-9_]+ */
    char *plugin; /* as written: a bare name ("profile_postgres") resolves to
                     <plugin_dir>/<name>.so; a path containing '/' is used
                     as is (relative to the manifest's directory) */
    char *plugin_path; /* resolved absolute-or-relative path to the .so */
    enum mf_pass_kind kind;
    bool enabled;
    struct mf_aspect_ref *inputs;
    size_t n_inputs;
    struct mf_aspect_ref *outputs;
    size_t n_outputs;
    json_t *config;    /* object, never NULL (empty if absent), owned */
    int concurrency;   /* 0 = the worker's thread count */
    struct mf_pos pos; /* of the pass's mapping */
    struct mf_pos pos_plugin, pos_kind, pos_enabled, pos_inputs, pos_outputs,
        pos_config;
};

struct mf_connection {
    char *name;
    char *dsn; /* libpq conninfo or URI; may hold a password (secret) */
    int statement_timeout_ms; /* 0 = none; default 30000 */
    struct mf_pos pos;
};

struct mf_egress_rule {
    char *host; /* "db.internal", "*.corp.example", "127.0.0.1", "[::1]" */
    int port;   /* 0 = any port ("host:*" or "host") */
    struct mf_pos pos;
};

/* How an LLM endpoint is asked for JSON (`response_format`). */
enum mf_llm_format {
    MF_LLM_JSON_SCHEMA = 0, /* {"type":"json_schema",...} (LiteLLM, Ollama) */
    MF_LLM_JSON_OBJECT = 1, /* {"type":"json_object"} */
    MF_LLM_FORMAT_NONE = 2  /* nothing sent; the schema goes in the prompt */
};

/* One entry of `llm.endpoints`: an OpenAI-compatible server. */
struct mf_llm_endpoint {
    char *name;            /* [a-z0-9_]+ */
    char *url;             /* base URL, no trailing '/' nor "/v1" */
    char *api_key;         /* NULL = none; registered as a secret */
    char *chat_model;      /* NULL: the endpoint only embeds */
    char *fallback_model;  /* NULL = none */
    char *embedding_model; /* NULL: the endpoint only chats */
    int dimensions;        /* embedding size; 0 = whatever the model gives */
    enum mf_llm_format response_format;
    int concurrency;         /* in-flight requests per worker, default 4 */
    double rate_per_second;  /* token bucket refill; 0 = unlimited */
    int burst;               /* bucket size, default = concurrency */
    int timeout_ms;          /* per HTTP attempt, default 60000 */
    int retries;             /* after the first attempt, default 3 */
    int max_tokens;          /* 0 = not sent (the server's default) */
    int circuit_failures;    /* consecutive failed calls that open the
                                circuit, default 5; 0 = no breaker */
    int circuit_cooldown_ms; /* default 30000 */
    struct mf_pos pos;
};

/* `webhooks: {openmetadata: {...}}`: signed ChangeEvents trigger targeted
 * runs of one source pass. */
struct mf_webhook {
    char *secret;   /* HMAC key (`secret` or `secret_file`); a log secret */
    char *source;   /* an enabled source pass that resolves the targets */
    char *bot_name; /* the daemon's own OpenMetadata user, may be NULL */
    struct mf_pos pos;
};

struct manifest {
    char *path;      /* as given */
    char *dir;       /* directory of the file, for relative paths */
    char sha256[65]; /* hex digest of the raw file bytes */

    char *state_dsn; /* `state:` (string) or `state: {dsn: ...}` */
    struct mf_egress_rule *egress;
    size_t n_egress;
    struct mf_connection *connections;
    size_t n_connections;
    struct mf_llm_endpoint *llm_endpoints; /* `llm.endpoints` */
    size_t n_llm_endpoints;

    char *api_listen;         /* "127.0.0.1:8080"; NULL = API off */
    char *api_tokens_file;    /* NULL = no tokens: mutating endpoints refused */
    struct schedule schedule; /* `schedule: {every: 6h}` or `{cron: "..."}` */

    int workers;        /* pool threads per worker process, default 4 */
    char *plugin_dir;   /* default: the compiled-in install dir */
    char **raw_aspects; /* aspects marked raw: "sample" plus `raw_aspects:` */
    size_t n_raw_aspects;

    /* `limits:` (all optional) */
    int lease_seconds; /* job lease, default 60 */
    int max_attempts;  /* crashes before an entity is failed, default 3 */
    int drain_timeout_seconds;    /* old generation drain bound, default 60 */
    int shutdown_timeout_seconds; /* SIGTERM in-flight bound, default 30 */
    int ready_timeout_seconds;    /* new worker must say ready, default 30 */

    struct mf_pass *passes;
    size_t n_passes;

    struct mf_webhook *webhook_om; /* NULL: the webhook route answers 404 */
};

/* Parses and validates `path`.  On success *out is owned by the caller
 * (manifest_free).  On error returns -1 and writes one line to err. */
int manifest_load(const char *path, struct manifest **out, char *err,
                  size_t errlen);
/* Same, from a buffer; `path` is only used in messages and for relative
 * paths. */
int manifest_load_buffer(const char *path, const char *data, size_t len,
                         struct manifest **out, char *err, size_t errlen);
void manifest_free(struct manifest *m);

bool manifest_aspect_is_raw(const struct manifest *m, const char *aspect);
const struct mf_pass *manifest_find_pass(const struct manifest *m,
                                         const char *name);
const struct mf_connection *manifest_find_connection(const struct manifest *m,
                                                     const char *name);
const char *mf_kind_name(enum mf_pass_kind kind);
/* The endpoint named `name` under `llm.endpoints`, or NULL. */
const struct mf_llm_endpoint *
manifest_find_llm_endpoint(const struct manifest *m, const char *name);

/* The directory passes are loaded from when `plugin_dir` is absent. */
#ifndef CS_DEFAULT_PLUGIN_DIR
#define CS_DEFAULT_PLUGIN_DIR "/usr/local/lib/catalog-sync/passes"
#endif

#endif
