/*
 * The LLM client (see llm.h).  A call goes: circuit admission, a
 * concurrency slot, then attempts; each attempt waits for a rate token,
 * POSTs through the thread's http_client with its own retries off, and is
 * judged here (answer usable, retry, or final).  A chat answer that must
 * follow a schema is extracted and checked, and asked once more with a
 * stricter instruction when it does not.
 */
#include "llm.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpclient.h"
#include "log.h"
#include "metrics.h"

#define EMBED_BATCH 64        /* texts per /v1/embeddings request */
#define NAP_SLICE_MS 50       /* how often waits look at `stopping` */
#define MAX_SCHEMA_DEPTH 32   /* nesting the schema check follows */
#define MAX_ERROR_MESSAGE 160 /* of a server's error.message we quote */
#define FALLBACK_ALIAS "@fallback"

struct endpoint {
    const struct mf_llm_endpoint *cfg;
    pthread_mutex_t lock; /* everything below */
    pthread_cond_t freed; /* a concurrency slot was released */
    int in_flight;
    struct llm_bucket bucket;
    struct llm_circuit circuit;
};

struct llm_client {
    struct endpoint *eps;
    size_t n_eps;
    struct metrics *metrics;
    const atomic_bool *stopping;
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Writes a reason into `why` and returns `code`: one-line error returns. */
static int whyf(char *why, size_t whylen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int whyf(char *why, size_t whylen, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return code;
}

/* ---- token bucket ------------------------------------------------------ */

void llm_bucket_init(struct llm_bucket *b, double rate, double burst,
                     double now)
{
    b->rate = rate;
    b->burst = burst >= 1 ? burst : 1;
    b->tokens = b->burst;
    b->last = now;
}

double llm_bucket_reserve(struct llm_bucket *b, double now)
{
    if (b->rate <= 0)
        return 0;
    if (now > b->last) {
        b->tokens += (now - b->last) * b->rate;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
        b->last = now;
    }
    b->tokens -= 1;
    return b->tokens >= 0 ? 0 : -b->tokens / b->rate;
}

/* ---- circuit breaker --------------------------------------------------- */

void llm_circuit_init(struct llm_circuit *c, int threshold, double cooldown)
{
    memset(c, 0, sizeof *c);
    c->threshold = threshold;
    c->cooldown = cooldown;
}

enum llm_admit llm_circuit_admit(struct llm_circuit *c, double now)
{
    switch (c->state) {
    case LLM_CIRCUIT_CLOSED:
        return LLM_ALLOW;
    case LLM_CIRCUIT_OPEN:
        if (now < c->open_until)
            return LLM_DENY;
        c->state = LLM_CIRCUIT_HALF_OPEN;
        break;
    case LLM_CIRCUIT_HALF_OPEN:
        if (c->probing)
            return LLM_DENY;
        break;
    }
    c->probing = true;
    return LLM_PROBE;
}

void llm_circuit_record(struct llm_circuit *c, enum llm_outcome outcome,
                        bool probe, const char *reason, double now)
{
    if (probe)
        c->probing = false;
    if (outcome == LLM_OUTCOME_OK) {
        c->state = LLM_CIRCUIT_CLOSED;
        c->failures = 0;
        return;
    }
    if (outcome != LLM_OUTCOME_FAIL)
        return;
    snprintf(c->reason, sizeof c->reason, "%s", reason ? reason : "");
    if (c->state == LLM_CIRCUIT_OPEN)
        return; /* a call that started before it opened */
    c->failures++;
    if (c->state == LLM_CIRCUIT_HALF_OPEN ||
        (c->threshold > 0 && c->failures >= c->threshold)) {
        c->state = LLM_CIRCUIT_OPEN;
        c->open_until = now + c->cooldown;
    }
}

/* ---- schema check ------------------------------------------------------ */

struct spath {
    char text[256];
    size_t len;
};

/* Appends ".key" or "[i]" to the path; returns the length to restore. */
static size_t spath_push(struct spath *p, const char *key, size_t index)
{
    size_t old = p->len, room = sizeof p->text - p->len;
    int n = key ? snprintf(p->text + p->len, room, ".%.64s", key)
                : snprintf(p->text + p->len, room, "[%zu]", index);
    if (n > 0)
        p->len += (size_t)n < room ? (size_t)n : room - 1;
    return old;
}

static void spath_pop(struct spath *p, size_t len)
{
    p->len = len;
    p->text[len] = '\0';
}

static int schema_fail(const struct spath *p, char *err, size_t errlen,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int schema_fail(const struct spath *p, char *err, size_t errlen,
                       const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s: %s", p->text, msg);
    return -1;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

static bool type_is(const char *type, const json_t *v)
{
    if (!strcmp(type, "number"))
        return json_is_number(v);
    if (!strcmp(type, "integer"))
        return json_is_integer(v) ||
               (json_is_real(v) &&
                json_real_value(v) == floor(json_real_value(v)));
    return !strcmp(type, json_kind(v));
}

static int check_type(const json_t *schema, const json_t *v,
                      const struct spath *p, char *err, size_t errlen)
{
    const json_t *t = json_object_get(schema, "type");
    size_t i;
    const json_t *one;
    if (json_is_string(t))
        return type_is(json_string_value(t), v)
                   ? 0
                   : schema_fail(p, err, errlen, "expected %s, got %s",
                                 json_string_value(t), json_kind(v));
    if (!json_is_array(t))
        return 0;
    json_array_foreach(t, i,
                       one) if (json_is_string(one) &&
                                type_is(json_string_value(one), v)) return 0;
    return schema_fail(p, err, errlen, "%s is not one of the allowed types",
                       json_kind(v));
}

static int check_enum(const json_t *schema, const json_t *v,
                      const struct spath *p, char *err, size_t errlen)
{
    const json_t *e = json_object_get(schema, "enum");
    size_t i;
    const json_t *one;
    if (!json_is_array(e))
        return 0;
    json_array_foreach(e, i, one) if (json_equal(one, v)) return 0;
    return schema_fail(p, err, errlen, "not one of the %zu allowed values",
                       json_array_size(e));
}

static int check_node(const json_t *schema, const json_t *v, struct spath *p,
                      int depth, char *err, size_t errlen);

static int check_object(const json_t *schema, const json_t *v, struct spath *p,
                        int depth, char *err, size_t errlen)
{
    const json_t *req = json_object_get(schema, "required"), *one;
    const json_t *props = json_object_get(schema, "properties");
    const json_t *extra = json_object_get(schema, "additionalProperties");
    const char *key;
    json_t *val;
    size_t i;
    json_array_foreach(
        req, i,
        one) if (json_is_string(one) &&
                 !json_object_get(
                     v, json_string_value(
                            one))) return schema_fail(p, err, errlen,
                                                      "required property "
                                                      "`%.64s` is missing",
                                                      json_string_value(one));
    json_object_foreach((json_t *)v, key, val)
    {
        const json_t *sub = json_object_get(props, key);
        if (!sub && json_is_false(extra))
            return schema_fail(p, err, errlen,
                               "property `%.64s` is not allowed", key);
        if (!sub && json_is_object(extra))
            sub = extra;
        size_t mark = spath_push(p, key, 0);
        int rc = sub ? check_node(sub, val, p, depth + 1, err, errlen) : 0;
        spath_pop(p, mark);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int check_array(const json_t *schema, const json_t *v, struct spath *p,
                       int depth, char *err, size_t errlen)
{
    const json_t *items = json_object_get(schema, "items");
    const json_t *lo = json_object_get(schema, "minItems");
    const json_t *hi = json_object_get(schema, "maxItems");
    size_t n = json_array_size(v), i;
    json_t *one;
    if (json_is_integer(lo) && (json_int_t)n < json_integer_value(lo))
        return schema_fail(p, err, errlen,
                           "fewer than %" JSON_INTEGER_FORMAT " items",
                           json_integer_value(lo));
    if (json_is_integer(hi) && (json_int_t)n > json_integer_value(hi))
        return schema_fail(p, err, errlen,
                           "more than %" JSON_INTEGER_FORMAT " items",
                           json_integer_value(hi));
    if (!json_is_object(items))
        return 0;
    json_array_foreach(v, i, one)
    {
        size_t mark = spath_push(p, NULL, i);
        int rc = check_node(items, one, p, depth + 1, err, errlen);
        spath_pop(p, mark);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Length in characters (UTF-8 code points), as JSON Schema counts. */
static size_t utf8_length(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int check_string(const json_t *schema, const json_t *v,
                        const struct spath *p, char *err, size_t errlen)
{
    const json_t *lo = json_object_get(schema, "minLength");
    const json_t *hi = json_object_get(schema, "maxLength");
    json_int_t n = (json_int_t)utf8_length(json_string_value(v));
    if (json_is_integer(lo) && n < json_integer_value(lo))
        return schema_fail(p, err, errlen,
                           "shorter than %" JSON_INTEGER_FORMAT " characters",
                           json_integer_value(lo));
    if (json_is_integer(hi) && n > json_integer_value(hi))
        return schema_fail(p, err, errlen,
                           "longer than %" JSON_INTEGER_FORMAT " characters",
                           json_integer_value(hi));
    return 0;
}

static int check_node(const json_t *schema, const json_t *v, struct spath *p,
                      int depth, char *err, size_t errlen)
{
    if (!json_is_object(schema))
        return 0; /* `true`, or a form this check does not know */
    if (depth > MAX_SCHEMA_DEPTH)
        return schema_fail(p, err, errlen, "nested deeper than %d levels",
                           MAX_SCHEMA_DEPTH);
    if (check_type(schema, v, p, err, errlen) < 0 ||
        check_enum(schema, v, p, err, errlen) < 0)
        return -1;
    if (json_is_object(v))
        return check_object(schema, v, p, depth, err, errlen);
    if (json_is_array(v))
        return check_array(schema, v, p, depth, err, errlen);
    if (json_is_string(v))
        return check_string(schema, v, p, err, errlen);
    return 0;
}

/* Pure function; any thread. */
int llm_schema_check(const json_t *schema, const json_t *value, char *err,
                     size_t errlen)
{
    struct spath p = {"$", 1};
    if (!value) {
        snprintf(err, errlen, "$: no value");
        return -1;
    }
    return check_node(schema, value, &p, 0, err, errlen);
}

/* ---- JSON in prose ----------------------------------------------------- */

/* The inside of the first ``` fence (an info string such as "json" after
 * the opening fence is skipped), or NULL. */
static json_t *from_fence(const char *s)
{
    const char *open = strstr(s, "```");
    if (!open)
        return NULL;
    const char *body = strchr(open + 3, '\n');
    if (!body)
        return NULL;
    const char *close = strstr(body + 1, "```");
    if (!close)
        return NULL;
    return json_loadb(body + 1, (size_t)(close - body - 1), 0, NULL);
}

/* End of the balanced {...} starting at s[0], skipping braces inside
 * strings; NULL when unbalanced. */
static const char *object_end(const char *s)
{
    int depth = 0;
    bool in_string = false;
    for (const char *c = s; *c; c++) {
        if (in_string) {
            if (*c == '\\' && c[1])
                c++;
            else if (*c == '"')
                in_string = false;
        } else if (*c == '"') {
            in_string = true;
        } else if (*c == '{') {
            depth++;
        } else if (*c == '}' && --depth == 0) {
            return c + 1;
        }
    }
    return NULL;
}

static json_t *first_object(const char *s)
{
    for (const char *open = strchr(s, '{'); open;
         open = strchr(open + 1, '{')) {
        const char *end = object_end(open);
        if (!end)
            return NULL;
        json_t *j = json_loadb(open, (size_t)(end - open), 0, NULL);
        if (j)
            return j;
    }
    return NULL;
}

/* Pure function; any thread. */
json_t *llm_extract_json(const char *content, bool *wrapped)
{
    json_t *j;
    if (wrapped)
        *wrapped = false;
    if (!content)
        return NULL;
    if ((j = json_loads(content, JSON_DECODE_ANY, NULL)))
        return j;
    if (!(j = from_fence(content)))
        j = first_object(content);
    if (j && wrapped)
        *wrapped = true;
    return j;
}

/* ---- the client -------------------------------------------------------- */

/* Main thread, before the pool starts.  See llm.h. */
struct llm_client *llm_client_new(const struct manifest *m,
                                  struct metrics *metrics,
                                  const atomic_bool *stopping)
{
    struct llm_client *c = calloc(1, sizeof *c);
    size_t n = m ? m->n_llm_endpoints : 0;
    if (!c || !(c->eps = calloc(n ? n : 1, sizeof *c->eps))) {
        free(c);
        return NULL;
    }
    c->metrics = metrics;
    c->stopping = stopping;
    double now = mono_now();
    for (; c->n_eps < n; c->n_eps++) {
        struct endpoint *e = &c->eps[c->n_eps];
        e->cfg = &m->llm_endpoints[c->n_eps];
        pthread_mutex_init(&e->lock, NULL);
        pthread_cond_init(&e->freed, NULL);
        llm_bucket_init(&e->bucket, e->cfg->rate_per_second, e->cfg->burst,
                        now);
        llm_circuit_init(&e->circuit, e->cfg->circuit_failures,
                         e->cfg->circuit_cooldown_ms / 1000.0);
    }
    return c;
}

/* After the pool has stopped.  See llm.h. */
void llm_client_free(struct llm_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_eps; i++) {
        pthread_mutex_destroy(&c->eps[i].lock);
        pthread_cond_destroy(&c->eps[i].freed);
    }
    free(c->eps);
    free(c);
}

static struct endpoint *find_endpoint(struct llm_client *c, const char *name,
                                      char *err, size_t errlen)
{
    if (!name)
        name = "default";
    for (size_t i = 0; c && i < c->n_eps; i++)
        if (!strcmp(c->eps[i].cfg->name, name))
            return &c->eps[i];
    snprintf(err, errlen,
             "LLM endpoint \"%.64s\" is not defined under the manifest's "
             "llm.endpoints",
             name);
    return NULL;
}

static bool stopping(const struct llm_client *c)
{
    return c->stopping && atomic_load(c->stopping);
}

/* Sleeps ms in slices; false as soon as the worker stops. */
static bool nap(const struct llm_client *c, long ms)
{
    while (ms > 0 && !stopping(c)) {
        long slice = ms < NAP_SLICE_MS ? ms : NAP_SLICE_MS;
        struct timespec ts = {slice / 1000, (slice % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        ms -= slice;
    }
    return !stopping(c);
}

/* Waits for a concurrency slot; false when the worker stops first. */
static bool slot_acquire(struct llm_client *c, struct endpoint *e)
{
    bool ok = true;
    pthread_mutex_lock(&e->lock);
    while (e->in_flight >= e->cfg->concurrency && (ok = !stopping(c))) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += NAP_SLICE_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&e->freed, &e->lock, &ts);
    }
    if (ok)
        e->in_flight++;
    pthread_mutex_unlock(&e->lock);
    return ok;
}

static void slot_release(struct endpoint *e)
{
    pthread_mutex_lock(&e->lock);
    e->in_flight--;
    pthread_cond_signal(&e->freed);
    pthread_mutex_unlock(&e->lock);
}

/* Waits for a rate token; false when the worker stops first. */
static bool token_wait(struct llm_client *c, struct endpoint *e)
{
    pthread_mutex_lock(&e->lock);
    double wait = llm_bucket_reserve(&e->bucket, mono_now());
    pthread_mutex_unlock(&e->lock);
    return nap(c, (long)ceil(wait * 1000));
}

/* ---- metrics ----------------------------------------------------------- */

static void count_error(struct llm_client *c, const struct endpoint *e,
                        const char *reason)
{
    char labels[160];
    snprintf(labels, sizeof labels, "endpoint=\"%s\",reason=\"%s\"",
             e->cfg->name, reason);
    metrics_counter_add(c->metrics, "catalog_sync_llm_errors_total", labels,
                        "Failed LLM requests and answers, by reason", 1);
}

static void observe_request(struct llm_client *c, const struct endpoint *e,
                            const char *kind, double seconds)
{
    char labels[160];
    snprintf(labels, sizeof labels, "endpoint=\"%s\",kind=\"%s\"", e->cfg->name,
             kind);
    metrics_observe(c->metrics, "catalog_sync_llm_request_seconds", labels,
                    "Duration of one HTTP request to an LLM endpoint", seconds);
}

/* usage.prompt_tokens / completion_tokens of an answer, counted. */
static void count_tokens(struct llm_client *c, const struct endpoint *e,
                         const json_t *doc, long *prompt, long *completion)
{
    const json_t *u = json_object_get(doc, "usage");
    static const char *const kinds[] = {"prompt", "completion"};
    long v[2] = {
        (long)json_integer_value(json_object_get(u, "prompt_tokens")),
        (long)json_integer_value(json_object_get(u, "completion_tokens"))};
    for (int i = 0; i < 2; i++) {
        char labels[160];
        if (v[i] <= 0)
            continue;
        snprintf(labels, sizeof labels, "endpoint=\"%s\",kind=\"%s\"",
                 e->cfg->name, kinds[i]);
        metrics_counter_add(c->metrics, "catalog_sync_llm_tokens_total", labels,
                            "Tokens reported by LLM endpoints", (double)v[i]);
    }
    if (prompt)
        *prompt += v[0];
    if (completion)
        *completion += v[1];
}

/* ---- attempts ---------------------------------------------------------- */

enum verdict { V_OK, V_RETRY, V_FINAL };

/* One POST of a call and what it needs. */
struct post {
    const char *kind; /* "chat" or "embed", for metrics */
    const char *path; /* "/v1/chat/completions" */
    const char *body;
    long timeout_ms;
    const char *must_have; /* array member a usable answer has */
    bool probe;            /* the circuit's half-open probe call */
    json_t *doc;           /* out: the parsed answer */
    int attempts;          /* HTTP attempts so far */
    enum llm_outcome outcome;
    char reason[600]; /* why the last attempt failed, for the circuit */
};

/* Why an attempt failed. */
struct failure {
    int code;
    const char *metric; /* reason label of catalog_sync_llm_errors_total */
    enum llm_outcome outcome;
    char why[600];
};

/* The server's own words, `error.message` of an OpenAI-shaped error body,
 * shortened; "" when there is none.  Never the raw body, which may echo
 * the request. */
static void server_message(const cs_http_response *r, char *out, size_t len)
{
    json_t *doc = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    json_t *e = json_object_get(doc, "error");
    const char *msg = json_string_value(
        json_is_object(e) ? json_object_get(e, "message") : e);
    snprintf(out, len, "%s%.*s", msg ? ": " : "", MAX_ERROR_MESSAGE,
             msg ? msg : "");
    json_decref(doc);
}

/* 200 with a readable answer is the only success; a 200 that is not JSON
 * or lacks choices/data is garbage and retried like a 5xx. */
static enum verdict judge_200(const cs_http_response *r, struct post *p,
                              struct failure *f)
{
    json_t *doc = json_loadb(r->body, r->body_len, 0, NULL);
    json_t *need = json_object_get(doc, p->must_have);
    if (json_is_array(need) && json_array_size(need) > 0) {
        p->doc = doc;
        return V_OK;
    }
    f->code = CS_ERR_UNAVAILABLE;
    f->metric = "invalid";
    f->outcome = LLM_OUTCOME_FAIL;
    snprintf(f->why, sizeof f->why, "HTTP %ld with an unusable answer (%s)",
             r->status, doc ? "no `choices`/`data`" : "not JSON");
    json_decref(doc);
    return V_RETRY;
}

static enum verdict judge_status(const cs_http_response *r, struct failure *f)
{
    long s = r->status;
    char msg[MAX_ERROR_MESSAGE + 8];
    bool retry = s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
    bool endpoint_fault =
        s == 429 || s >= 500 || s == 401 || s == 403 || s == 404;
    server_message(r, msg, sizeof msg);
    f->code = retry ? CS_ERR_UNAVAILABLE : CS_ERR;
    f->metric = s == 429 ? "http_429" : s >= 500 ? "http_5xx" : "http_4xx";
    /* A 400 is about this request; the endpoint is fine. */
    f->outcome = endpoint_fault ? LLM_OUTCOME_FAIL : LLM_OUTCOME_OK;
    snprintf(f->why, sizeof f->why, "HTTP %ld%s", s, msg);
    return retry ? V_RETRY : V_FINAL;
}

static enum verdict judge(int rc, const cs_http_response *r, struct post *p,
                          struct failure *f)
{
    if (rc == CS_OK)
        return r->status >= 200 && r->status < 300 ? judge_200(r, p, f)
                                                   : judge_status(r, f);
    f->code = rc;
    f->outcome = LLM_OUTCOME_NONE;
    switch (rc) {
    case CS_ERR_TIMEOUT:
        f->metric = "timeout";
        f->outcome = LLM_OUTCOME_FAIL;
        return V_RETRY;
    case CS_ERR_UNAVAILABLE:
        f->metric = "connect";
        f->outcome = LLM_OUTCOME_FAIL;
        return V_RETRY;
    case CS_ERR_EGRESS:
        f->metric = "egress";
        return V_FINAL;
    default:
        f->metric = "error";
        return V_FINAL;
    }
}

/* Whether a call that is not the probe must stop: the circuit opened
 * (through other calls) since it was admitted. */
static bool circuit_tripped(struct endpoint *e, bool probe)
{
    pthread_mutex_lock(&e->lock);
    bool open = !probe && e->circuit.state != LLM_CIRCUIT_CLOSED;
    pthread_mutex_unlock(&e->lock);
    return open;
}

static int circuit_error(struct llm_client *c, struct endpoint *e, char *err,
                         size_t errlen)
{
    char until[64] = "a probe call succeeds", reason[512];
    pthread_mutex_lock(&e->lock);
    double left = e->circuit.open_until - mono_now();
    bool open = e->circuit.state == LLM_CIRCUIT_OPEN && left > 0;
    snprintf(reason, sizeof reason, "%s", e->circuit.reason);
    pthread_mutex_unlock(&e->lock);
    if (open) {
        time_t at = time(NULL) + (time_t)ceil(left);
        struct tm tm;
        gmtime_r(&at, &tm);
        strftime(until, sizeof until, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    count_error(c, e, "circuit_open");
    return log_redactf(err, errlen, CS_ERR_UNAVAILABLE,
                       "LLM endpoint %s is unavailable (circuit open until "
                       "%s): %s",
                       e->cfg->name, until, reason);
}

static enum verdict one_attempt(struct llm_client *c, struct endpoint *e,
                                const struct llm_caller *who, struct post *p,
                                struct failure *f, char **retry_after)
{
    char url[2048], auth[1100];
    const char *headers[3] = {"Content-Type: application/json", NULL, NULL};
    if (e->cfg->api_key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s",
                 e->cfg->api_key);
        headers[1] = auth;
    }
    snprintf(url, sizeof url, "%s%s", e->cfg->url, p->path);
    cs_http_request req = {.struct_size = sizeof req,
                           .method = "POST",
                           .url = url,
                           .headers = headers,
                           .body = p->body,
                           .body_len = strlen(p->body),
                           .timeout_ms = p->timeout_ms,
                           .max_retries = 0};
    cs_http_response r = {0};
    double t0 = mono_now();
    int rc =
        http_client_request(who->http, &req, &r, NULL, f->why, sizeof f->why);
    observe_request(c, e, p->kind, mono_now() - t0);
    p->attempts++;
    enum verdict v = judge(rc, &r, p, f);
    *retry_after = r.retry_after;
    r.retry_after = NULL;
    http_response_clear(&r);
    return v;
}

/* Attempts until a usable answer (p->doc), a final failure, the retry
 * budget spent, the circuit opened by other calls, or the worker
 * stopping. */
static int post_json(struct llm_client *c, struct endpoint *e,
                     const struct llm_caller *who, struct post *p, char *err,
                     size_t errlen)
{
    struct failure f = {0};
    for (int retry = 0;; retry++) {
        /* Opened by other calls while this one waited for its slot or
         * between its attempts: stop now rather than burn the timeout. */
        if (circuit_tripped(e, p->probe)) {
            p->outcome = LLM_OUTCOME_NONE;
            return circuit_error(c, e, err, errlen);
        }
        if (!token_wait(c, e))
            break;
        char *retry_after = NULL;
        enum verdict v = one_attempt(c, e, who, p, &f, &retry_after);
        if (v == V_OK) {
            free(retry_after);
            p->outcome = LLM_OUTCOME_OK;
            return CS_OK;
        }
        count_error(c, e, f.metric);
        p->outcome = f.outcome;
        snprintf(p->reason, sizeof p->reason, "%s", f.why);
        long wait = http_client_retry_delay_ms(who->http, retry, retry_after);
        free(retry_after);
        if (v == V_FINAL || retry >= e->cfg->retries)
            return log_redactf(
                err, errlen, f.code, "LLM endpoint %s: %s (%d attempt%s)",
                e->cfg->name, f.why, p->attempts, p->attempts == 1 ? "" : "s");
        if (!nap(c, wait))
            break;
    }
    p->outcome = LLM_OUTCOME_NONE;
    return log_redactf(err, errlen, CS_ERR_STOPPING,
                       "LLM endpoint %s: the worker is stopping", e->cfg->name);
}

/* One call: circuit admission, a concurrency slot, the attempts, and the
 * outcome recorded for the circuit. */
static int call_endpoint(struct llm_client *c, struct endpoint *e,
                         const struct llm_caller *who, struct post *p,
                         char *err, size_t errlen)
{
    pthread_mutex_lock(&e->lock);
    enum llm_admit a = llm_circuit_admit(&e->circuit, mono_now());
    pthread_mutex_unlock(&e->lock);
    if (a == LLM_DENY)
        return circuit_error(c, e, err, errlen);
    p->probe = a == LLM_PROBE;
    p->outcome = LLM_OUTCOME_NONE;
    int rc;
    if (slot_acquire(c, e)) {
        rc = post_json(c, e, who, p, err, errlen);
        slot_release(e);
    } else {
        rc = log_redactf(err, errlen, CS_ERR_STOPPING,
                         "LLM endpoint %s: the worker is stopping",
                         e->cfg->name);
    }
    pthread_mutex_lock(&e->lock);
    llm_circuit_record(&e->circuit, p->outcome, p->probe, p->reason,
                       mono_now());
    pthread_mutex_unlock(&e->lock);
    return rc;
}

/* ---- chat -------------------------------------------------------------- */

/* What a chat call resolved from the request and the endpoint. */
struct chat {
    cs_llm_request r; /* the pass's request, completed with defaults */
    struct endpoint *e;
    const char *model;
    json_t *schema; /* parsed r.json_schema, or NULL; owned */
};

/* The request of a pass built against an older, shorter struct: what it
 * has, the rest zero. */
static int chat_prepare(struct llm_client *c, const cs_llm_request *req,
                        struct chat *ch, char *err, size_t errlen)
{
    json_error_t je;
    memset(ch, 0, sizeof *ch);
    if (!req || req->struct_size < offsetof(cs_llm_request, temperature))
        return log_redactf(err, errlen, CS_ERR_INVALID,
                           "llm_chat: no request, or its struct_size is too "
                           "small");
    memcpy(&ch->r, req,
           req->struct_size < sizeof ch->r ? req->struct_size : sizeof ch->r);
    if (!ch->r.prompt)
        return log_redactf(err, errlen, CS_ERR_INVALID, "llm_chat: no prompt");
    if (!(ch->e = find_endpoint(c, ch->r.endpoint, err, errlen)))
        return CS_ERR_NOT_FOUND;
    const struct mf_llm_endpoint *cfg = ch->e->cfg;
    bool fallback = ch->r.model && !strcmp(ch->r.model, FALLBACK_ALIAS);
    ch->model = fallback      ? cfg->fallback_model
                : ch->r.model ? ch->r.model
                              : cfg->chat_model;
    if (!ch->model)
        return log_redactf(err, errlen, CS_ERR_INVALID,
                           "LLM endpoint %s has no %s", cfg->name,
                           fallback ? "fallback_model" : "chat_model");
    if (ch->r.json_schema &&
        !(ch->schema = json_loads(ch->r.json_schema, 0, &je)))
        return log_redactf(err, errlen, CS_ERR_INVALID,
                           "llm_chat: json_schema is not JSON: %s (line %d)",
                           je.text, je.line);
    return CS_OK;
}

/* The system message: the pass's, plus the schema in words when the
 * server is not told it through response_format.  malloc'd or NULL. */
static char *system_text(const struct chat *ch)
{
    char *schema = NULL, *out = NULL;
    const char *sys = ch->r.system ? ch->r.system : "";
    if (!ch->schema || ch->e->cfg->response_format == MF_LLM_JSON_SCHEMA)
        return *sys ? strdup(sys) : NULL;
    if (!(schema = json_dumps(ch->schema, JSON_COMPACT)))
        return NULL;
    if (asprintf(&out,
                 "%s%sAnswer with one JSON object that follows this JSON "
                 "Schema, and nothing else:\n%s",
                 sys, *sys ? "\n\n" : "", schema) < 0)
        out = NULL;
    free(schema);
    return out;
}

static json_t *response_format(const struct chat *ch)
{
    if (!ch->schema)
        return NULL;
    switch (ch->e->cfg->response_format) {
    case MF_LLM_JSON_SCHEMA:
        return json_pack("{s:s,s:{s:s,s:O}}", "type", "json_schema",
                         "json_schema", "name", "answer", "schema", ch->schema);
    case MF_LLM_JSON_OBJECT:
        return json_pack("{s:s}", "type", "json_object");
    default:
        return NULL;
    }
}

/* The request body; `strict` (may be NULL) is appended as a last user
 * message.  malloc'd JSON text or NULL when out of memory. */
static char *chat_body(const struct chat *ch, const char *strict)
{
    char *sys = system_text(ch), *text = NULL;
    json_t *msgs = json_array();
    if (sys)
        json_array_append_new(
            msgs, json_pack("{s:s,s:s}", "role", "system", "content", sys));
    json_array_append_new(
        msgs, json_pack("{s:s,s:s}", "role", "user", "content", ch->r.prompt));
    if (strict)
        json_array_append_new(
            msgs, json_pack("{s:s,s:s}", "role", "user", "content", strict));
    /* Servers differ in their defaults: always say both. */
    json_t *body = json_pack("{s:s,s:o,s:f,s:f,s:b}", "model", ch->model,
                             "messages", msgs, "temperature", ch->r.temperature,
                             "top_p", ch->r.top_p, "stream", 0);
    int max = ch->r.max_tokens > 0 ? ch->r.max_tokens : ch->e->cfg->max_tokens;
    if (body && max > 0)
        json_object_set_new(body, "max_tokens", json_integer(max));
    json_t *fmt = response_format(ch);
    if (body && fmt)
        json_object_set_new(body, "response_format", fmt);
    else
        json_decref(fmt);
    if (body && json_array_size(msgs) == (sys ? 2u : 1u) + (strict ? 1u : 0u))
        text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    free(sys);
    return text;
}

/* The strings of a response; the counters stay. */
static void free_answer(cs_llm_response *resp)
{
    free(resp->content);
    free(resp->model);
    free(resp->finish_reason);
    resp->content = resp->model = resp->finish_reason = NULL;
}

static const char *answer_content(const json_t *doc, const json_t **choice)
{
    *choice = json_array_get(json_object_get(doc, "choices"), 0);
    return json_string_value(
        json_object_get(json_object_get(*choice, "message"), "content"));
}

/* The answer into resp: the content (for a schema, the extracted JSON,
 * re-serialised) and what the server says about it.  CS_ERR_INVALID with
 * `why` when it is missing or does not follow the schema. */
static int take_answer(const struct chat *ch, const json_t *doc,
                       cs_llm_response *resp, char *why, size_t whylen)
{
    const json_t *choice;
    const char *content = answer_content(doc, &choice);
    json_t *j = NULL;
    if (!content)
        return whyf(why, whylen, CS_ERR_INVALID,
                    "the answer has no message content");
    if (ch->schema) {
        if (!(j = llm_extract_json(content, NULL)))
            return whyf(why, whylen, CS_ERR_INVALID, "the answer is not JSON");
        if (llm_schema_check(ch->schema, j, why, whylen) < 0) {
            json_decref(j);
            return CS_ERR_INVALID;
        }
    }
    free_answer(resp);
    resp->content = j ? json_dumps(j, JSON_COMPACT) : strdup(content);
    json_decref(j);
    const char *model = json_string_value(json_object_get(doc, "model"));
    const char *fin =
        json_string_value(json_object_get(choice, "finish_reason"));
    resp->model = strdup(model ? model : ch->model);
    resp->finish_reason = fin ? strdup(fin) : NULL;
    if (!resp->content || !resp->model || (fin && !resp->finish_reason))
        return whyf(why, whylen, CS_ERR_NOMEM, "out of memory");
    return CS_OK;
}

static void log_exchange(const struct chat *ch, const struct llm_caller *who,
                         const char *what, const char *text)
{
    /* Prompts hold masked rows and answers echo them: debug only, and
     * redacted by the log like every line. */
    if (log_enabled(LOG_DEBUG))
        log_event(LOG_DEBUG, who->pass, who->fqn, "LLM %s %s: %s: %s",
                  ch->e->cfg->name, ch->model, what, text ? text : "");
}

/* One chat call (with its HTTP attempts) and its answer checked. */
static int ask(struct llm_client *c, const struct chat *ch,
               const struct llm_caller *who, const char *strict,
               cs_llm_response *resp, char *err, size_t errlen)
{
    char *body = chat_body(ch, strict);
    if (!body)
        return log_redactf(err, errlen, CS_ERR_NOMEM,
                           "LLM endpoint %s: out of memory", ch->e->cfg->name);
    struct post p = {.kind = "chat",
                     .path = "/v1/chat/completions",
                     .body = body,
                     .timeout_ms = ch->r.timeout_ms > 0
                                       ? ch->r.timeout_ms
                                       : ch->e->cfg->timeout_ms,
                     .must_have = "choices"};
    log_exchange(ch, who, "prompt", strict ? strict : ch->r.prompt);
    int rc = call_endpoint(c, ch->e, who, &p, err, errlen);
    free(body);
    resp->attempts += p.attempts;
    if (rc != CS_OK)
        return rc;
    const json_t *choice;
    log_exchange(ch, who, "answer", answer_content(p.doc, &choice));
    count_tokens(c, ch->e, p.doc, &resp->prompt_tokens,
                 &resp->completion_tokens);
    char why[512];
    rc = take_answer(ch, p.doc, resp, why, sizeof why);
    json_decref(p.doc);
    if (rc == CS_ERR_INVALID)
        count_error(c, ch->e, "invalid");
    if (rc != CS_OK)
        log_redactf(err, errlen, rc, "LLM endpoint %s: %s", ch->e->cfg->name,
                    why);
    return rc;
}

/* The instruction of the one retry after an answer that did not follow
 * the schema.  malloc'd or NULL. */
static char *strict_instruction(const struct chat *ch, const char *why)
{
    char *schema = json_dumps(ch->schema, JSON_COMPACT), *out = NULL;
    if (schema &&
        asprintf(&out,
                 "Your previous answer could not be used (%s). Answer again "
                 "with only one JSON object, no prose and no code fences, "
                 "that follows this JSON Schema exactly:\n%s",
                 why, schema) < 0)
        out = NULL;
    free(schema);
    return out;
}

/* Any pool thread.  See llm.h. */
int llm_chat(struct llm_client *c, const struct llm_caller *who,
             const cs_llm_request *req, cs_llm_response *resp, char *err,
             size_t errlen)
{
    struct chat ch;
    if (!resp)
        return log_redactf(err, errlen, CS_ERR_INVALID,
                           "llm_chat: no response");
    memset(resp, 0, sizeof *resp);
    int rc = chat_prepare(c, req, &ch, err, errlen);
    if (rc == CS_OK)
        rc = ask(c, &ch, who, NULL, resp, err, errlen);
    if (rc == CS_ERR_INVALID && ch.schema && resp->attempts > 0) {
        /* err is "LLM endpoint x: <why>": ask again, saying why */
        const char *why = strstr(err, ": ");
        char *strict = strict_instruction(&ch, why ? why + 2 : err);
        rc =
            strict ? ask(c, &ch, who, strict, resp, err, errlen) : CS_ERR_NOMEM;
        free(strict);
        if (rc == CS_ERR_INVALID) {
            char first[1024];
            snprintf(first, sizeof first, "%s", err);
            log_redactf(err, errlen, rc,
                        "%s (the answer still did not follow the JSON schema "
                        "after a stricter retry)",
                        first);
        }
    }
    json_decref(ch.schema);
    if (rc != CS_OK)
        free_answer(resp);
    return rc;
}

/* Safe on a zeroed or already cleared response. */
void llm_response_clear(cs_llm_response *resp)
{
    if (!resp)
        return;
    free_answer(resp);
    memset(resp, 0, sizeof *resp);
}

/* ---- embeddings -------------------------------------------------------- */

/* An embedding call: the resolved endpoint, model and dimension, and the
 * vectors gathered so far. */
struct embed {
    struct endpoint *e;
    const char *model;
    int dim;      /* 0 until known */
    bool ask_dim; /* the dimension was configured or asked for: send it */
    size_t n;     /* texts in all */
    float *out;   /* n x dim, allocated once dim is known */
};

static char *embed_body(const struct embed *em, const char *const *texts,
                        size_t k)
{
    json_t *input = json_array();
    for (size_t i = 0; input && i < k; i++)
        if (json_array_append_new(input, json_string(texts[i])) != 0) {
            json_decref(input);
            return NULL;
        }
    json_t *body = json_pack("{s:s,s:o,s:s}", "model", em->model, "input",
                             input, "encoding_format", "float");
    if (body && em->ask_dim)
        json_object_set_new(body, "dimensions", json_integer(em->dim));
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return text;
}

/* Checks one `data[]` item and returns its position in the batch, or -1
 * with why. */
static long vector_slot(struct embed *em, const json_t *item, size_t i,
                        size_t k, char *why, size_t whylen)
{
    const json_t *vec = json_object_get(item, "embedding");
    const json_t *idx = json_object_get(item, "index");
    long at = idx ? (long)json_integer_value(idx) : (long)i;
    if ((idx && !json_is_integer(idx)) || at < 0 || (size_t)at >= k)
        return whyf(why, whylen, -1, "data[%zu].index is not 0..%zu", i, k - 1);
    size_t len = json_array_size(vec);
    if (len == 0)
        return whyf(why, whylen, -1,
                    "data[%zu].embedding is not a list of numbers", i);
    if (em->dim == 0 && len <= INT_MAX)
        em->dim = (int)len;
    if (len != (size_t)em->dim)
        return whyf(why, whylen, -1,
                    "data[%zu].embedding has %zu dimensions, expected %d", i,
                    len, em->dim);
    return at;
}

/* One vector into row `at` of em->out, allocated at the first one (the
 * dimension is known by then). */
static int copy_vector(struct embed *em, const json_t *vec, size_t row,
                       size_t i, char *why, size_t whylen)
{
    size_t j;
    const json_t *x;
    if (!em->out && !(em->out = calloc(em->n, (size_t)em->dim * sizeof(float))))
        return whyf(why, whylen, CS_ERR_NOMEM,
                    "out of memory for %zu vectors of %d", em->n, em->dim);
    float *out = em->out + row * (size_t)em->dim;
    json_array_foreach(vec, j, x)
    {
        if (!json_is_number(x))
            return whyf(why, whylen, CS_ERR_INVALID,
                        "data[%zu].embedding[%zu] is not a number", i, j);
        out[j] = (float)json_number_value(x);
    }
    return CS_OK;
}

/* The vectors of one batch (texts start..start+k) into em->out, placed by
 * their `index` (servers need not answer in order). */
static int take_vectors(struct embed *em, const json_t *doc, size_t start,
                        size_t k, char *why, size_t whylen)
{
    const json_t *data = json_object_get(doc, "data");
    if (json_array_size(data) != k)
        return whyf(why, whylen, CS_ERR_INVALID, "%zu vectors for %zu texts",
                    json_array_size(data), k);
    char *seen = calloc(k, 1);
    if (!seen)
        return whyf(why, whylen, CS_ERR_NOMEM, "out of memory");
    int rc = CS_OK;
    for (size_t i = 0; i < k && rc == CS_OK; i++) {
        const json_t *item = json_array_get(data, i);
        long at = vector_slot(em, item, i, k, why, whylen);
        if (at < 0)
            rc = CS_ERR_INVALID;
        else if (seen[at])
            rc = whyf(why, whylen, CS_ERR_INVALID, "index %ld appears twice",
                      at);
        else
            rc = copy_vector(em, json_object_get(item, "embedding"),
                             start + (size_t)at, i, why, whylen);
        if (at >= 0)
            seen[at] = 1;
    }
    free(seen);
    return rc;
}

static int embed_batch(struct llm_client *c, struct embed *em,
                       const struct llm_caller *who, const char *const *texts,
                       size_t start, size_t k, char *err, size_t errlen)
{
    char *body = embed_body(em, texts + start, k), why[512];
    if (!body)
        return log_redactf(err, errlen, CS_ERR_NOMEM,
                           "LLM endpoint %s: out of memory", em->e->cfg->name);
    struct post p = {.kind = "embed",
                     .path = "/v1/embeddings",
                     .body = body,
                     .timeout_ms = em->e->cfg->timeout_ms,
                     .must_have = "data"};
    int rc = call_endpoint(c, em->e, who, &p, err, errlen);
    free(body);
    if (rc != CS_OK)
        return rc;
    count_tokens(c, em->e, p.doc, NULL, NULL);
    rc = take_vectors(em, p.doc, start, k, why, sizeof why);
    json_decref(p.doc);
    if (rc == CS_ERR_INVALID)
        count_error(c, em->e, "invalid");
    if (rc != CS_OK)
        log_redactf(err, errlen, rc, "LLM endpoint %s: embeddings: %s",
                    em->e->cfg->name, why);
    return rc;
}

static int embed_prepare(struct llm_client *c, struct embed *em,
                         const char *endpoint, const char *model,
                         const char *const *texts, size_t n, int dimensions,
                         char *err, size_t errlen)
{
    memset(em, 0, sizeof *em);
    em->n = n;
    if (!(em->e = find_endpoint(c, endpoint, err, errlen)))
        return CS_ERR_NOT_FOUND;
    em->model = model ? model : em->e->cfg->embedding_model;
    em->dim = dimensions > 0 ? dimensions : em->e->cfg->dimensions;
    em->ask_dim = em->dim > 0;
    if (!em->model)
        return log_redactf(err, errlen, CS_ERR_INVALID,
                           "LLM endpoint %s has no embedding_model",
                           em->e->cfg->name);
    if (dimensions < 0 || (n > 0 && !texts))
        return log_redactf(err, errlen, CS_ERR_INVALID, "llm_embed: %s",
                           dimensions < 0 ? "negative dimensions" : "no texts");
    for (size_t i = 0; i < n; i++)
        if (!texts[i])
            return log_redactf(err, errlen, CS_ERR_INVALID,
                               "llm_embed: text %zu is NULL", i);
    return CS_OK;
}

/* Any pool thread.  See llm.h. */
int llm_embed(struct llm_client *c, const struct llm_caller *who,
              const char *endpoint, const char *model, const char *const *texts,
              size_t n, int dimensions, float **out, int *dim, char *err,
              size_t errlen)
{
    struct embed em;
    if (!out || !dim)
        return log_redactf(err, errlen, CS_ERR_INVALID,
                           "llm_embed: no output pointers");
    *out = NULL;
    *dim = 0;
    int rc = embed_prepare(c, &em, endpoint, model, texts, n, dimensions, err,
                           errlen);
    for (size_t start = 0; rc == CS_OK && start < n; start += EMBED_BATCH) {
        size_t k = n - start < EMBED_BATCH ? n - start : EMBED_BATCH;
        rc = embed_batch(c, &em, who, texts, start, k, err, errlen);
    }
    if (rc != CS_OK) {
        free(em.out);
        return rc;
    }
    *out = em.out;
    *dim = em.dim;
    return CS_OK;
}

/* NULL is allowed. */
void llm_vectors_free(float *vectors)
{
    free(vectors);
}
