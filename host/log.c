/*
 * Logging: format one event into a buffer, redact it, write it to stderr
 * with one write(2).  See log.h for the contract.
 *
 * Redaction runs on the whole formatted message before it is truncated,
 * so a secret that straddles the truncation point cannot leak half of
 * itself.
 */
#include "log.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_MSG_MAX 8192 /* bytes of message kept per event */
#define LOG_SECRET_MIN 4
#define LOG_TRUNC_MARK "...[truncated]"
#define LOG_MASK "***"

static struct {
    enum log_format format;
    enum log_level min_level;
    char role[32];
    int generation;
} g_log = {LOG_FORMAT_TEXT, LOG_INFO, "catalog-sync", 0};

/* Registered secrets, longest first so that a secret containing another
 * one is masked whole.  n_published lets the common no-secret case skip
 * the mutex entirely. */
static pthread_mutex_t secrets_mu = PTHREAD_MUTEX_INITIALIZER;
static char **secrets;
static size_t n_secrets;
static atomic_size_t n_published;

/* One writer at a time: a single write(2) is atomic for short lines on a
 * pipe, and the mutex also covers long lines and partial writes. */
static pthread_mutex_t write_mu = PTHREAD_MUTEX_INITIALIZER;

/* ---- growable string ---------------------------------------------------- */

struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

static void sb_putc(struct sbuf *b, char c)
{
    sb_putn(b, &c, 1);
}

/* ---- setup -------------------------------------------------------------- */

/* Not thread-safe: call before any thread logs (main, once per process). */
void log_setup(enum log_format format, enum log_level min_level,
               const char *role, int generation)
{
    g_log.format = format;
    g_log.min_level = min_level;
    snprintf(g_log.role, sizeof g_log.role, "%s", role ? role : "?");
    g_log.generation = generation;
}

/* Case-insensitive; -1 for anything else. */
int log_parse_format(const char *s)
{
    if (!s)
        return -1;
    if (strcasecmp(s, "text") == 0)
        return LOG_FORMAT_TEXT;
    if (strcasecmp(s, "json") == 0)
        return LOG_FORMAT_JSON;
    return -1;
}

/* "warning" is accepted for "warn"; -1 for anything else. */
int log_parse_level(const char *s)
{
    if (!s)
        return -1;
    if (strcasecmp(s, "debug") == 0)
        return LOG_DEBUG;
    if (strcasecmp(s, "info") == 0)
        return LOG_INFO;
    if (strcasecmp(s, "warn") == 0 || strcasecmp(s, "warning") == 0)
        return LOG_WARN;
    if (strcasecmp(s, "error") == 0)
        return LOG_ERROR;
    return -1;
}

/* Any thread; cheap enough to guard expensive log arguments. */
bool log_enabled(enum log_level level)
{
    return level >= g_log.min_level;
}

/* ---- secrets ------------------------------------------------------------ */

static int secret_known(const char *s)
{
    for (size_t i = 0; i < n_secrets; i++)
        if (strcmp(secrets[i], s) == 0)
            return 1;
    return 0;
}

/* Inserts keeping the array sorted by decreasing length. */
static int secret_insert(char *copy)
{
    char **grown = realloc(secrets, (n_secrets + 1) * sizeof *secrets);
    if (!grown)
        return -1;
    secrets = grown;
    size_t len = strlen(copy), at = n_secrets;
    while (at > 0 && strlen(secrets[at - 1]) < len) {
        secrets[at] = secrets[at - 1];
        at--;
    }
    secrets[at] = copy;
    n_secrets++;
    return 0;
}

/* Any thread.  The secret is copied and kept for the process lifetime;
 * on out of memory it is not registered and an error line says so. */
void log_add_secret(const char *secret)
{
    if (!secret || strlen(secret) < LOG_SECRET_MIN)
        return;
    int failed = 0;
    pthread_mutex_lock(&secrets_mu);
    if (!secret_known(secret)) {
        char *copy = strdup(secret);
        if (!copy || secret_insert(copy) < 0) {
            free(copy);
            failed = 1;
        } else {
            atomic_store(&n_published, n_secrets);
        }
    }
    pthread_mutex_unlock(&secrets_mu);
    if (failed)
        log_error("log: out of memory registering a secret; it may appear "
                  "in later lines");
}

static void redact_secrets(const char *in, struct sbuf *out)
{
    pthread_mutex_lock(&secrets_mu);
    for (const char *p = in; *p;) {
        size_t hit = 0;
        for (size_t i = 0; i < n_secrets && !hit; i++) {
            size_t n = strlen(secrets[i]);
            if (secrets[i][0] == *p && strncmp(p, secrets[i], n) == 0)
                hit = n;
        }
        if (hit) {
            sb_puts(out, LOG_MASK);
            p += hit;
        } else {
            sb_putc(out, *p++);
        }
    }
    pthread_mutex_unlock(&secrets_mu);
}

/* ---- pattern redaction -------------------------------------------------- */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
}

static int starts_ci(const char *s, const char *word)
{
    return strncasecmp(s, word, strlen(word)) == 0;
}

/* End of a quoted value starting at the opening quote q (libpq allows
 * backslash escapes inside single quotes). */
static const char *skip_quoted(const char *p)
{
    char q = *p++;
    while (*p && *p != q) {
        if (*p == '\\' && p[1])
            p++;
        p++;
    }
    return *p ? p + 1 : p;
}

/* End of an unquoted value: whitespace ends it; in a URI query string
 * (the key followed '?' or '&') so does '&' or '#'. */
static const char *skip_bare(const char *p, int in_query)
{
    while (*p && !is_space(*p) && !(in_query && (*p == '&' || *p == '#')))
        p++;
    return p;
}

/* At a "password" key (libpq conninfo, URI query, "password: x"):
 * copies the key and separator, masks the value.  Returns the input
 * position after what was consumed, or NULL if this is not a key. */
static const char *redact_password(const char *in, const char *p,
                                   struct sbuf *out)
{
    const char *q = p + strlen("password");
    if (*q == '"' || *q == '\'')
        q++; /* JSON-ish "password": */
    while (*q == ' ' || *q == '\t')
        q++;
    if (*q != '=' && *q != ':')
        return NULL;
    q++;
    while (*q == ' ' || *q == '\t')
        q++;
    if (!*q || is_space(*q))
        return NULL;
    int in_query = p > in && (p[-1] == '?' || p[-1] == '&');
    const char *end =
        (*q == '\'' || *q == '"') ? skip_quoted(q) : skip_bare(q, in_query);
    sb_putn(out, p, (size_t)(q - p));
    sb_puts(out, LOG_MASK);
    return end;
}

/* At "://": masks the password of a user:password@ userinfo. */
static const char *redact_userinfo(const char *p, struct sbuf *out)
{
    const char *auth = p + 3, *end = auth, *at = NULL, *colon = NULL;
    while (*end && !is_space(*end) && !strchr("/?#\"'<>", *end))
        end++;
    for (const char *c = auth; c < end; c++)
        if (*c == '@')
            at = c; /* the last '@': an unencoded '@' may sit in a password */
    if (!at)
        return NULL;
    for (const char *c = auth; c < at && !colon; c++)
        if (*c == ':')
            colon = c;
    if (!colon)
        return NULL;
    sb_putn(out, p, (size_t)(colon + 1 - p));
    sb_puts(out, LOG_MASK);
    return at; /* the '@' and the host are copied by the caller's loop */
}

/* At a word "Bearer" (any case) followed by a token. */
static const char *redact_bearer(const char *in, const char *p,
                                 struct sbuf *out)
{
    if (p > in && is_word(p[-1]))
        return NULL;
    const char *q = p + strlen("bearer");
    if (*q != ' ' && *q != '\t')
        return NULL;
    while (*q == ' ' || *q == '\t')
        q++;
    const char *end = q;
    while (*end && !is_space(*end) && !strchr("\"',;", *end))
        end++;
    if (end == q)
        return NULL;
    sb_putn(out, p, (size_t)(q - p));
    sb_puts(out, LOG_MASK);
    return end;
}

/* At "Authorization:" with a scheme other than Bearer (Basic, Token...). */
static const char *redact_authz(const char *p, struct sbuf *out)
{
    const char *q = p + strlen("authorization:");
    while (*q == ' ' || *q == '\t')
        q++;
    if (starts_ci(q, "bearer"))
        return NULL; /* redact_bearer handles it */
    const char *scheme_end = q;
    while (is_word(*scheme_end) || *scheme_end == '-')
        scheme_end++;
    const char *cred = scheme_end;
    while (*cred == ' ' || *cred == '\t')
        cred++;
    if (cred == scheme_end || !*cred || is_space(*cred))
        cred = q; /* no scheme word: the whole value is the credential */
    const char *end = cred;
    while (*end && !is_space(*end) && !strchr("\"',;", *end))
        end++;
    if (end == cred)
        return NULL;
    sb_putn(out, p, (size_t)(cred - p));
    sb_puts(out, LOG_MASK);
    return end;
}

static void redact_patterns(const char *in, struct sbuf *out)
{
    for (const char *p = in; *p;) {
        const char *next = NULL;
        char c = *p | 0x20; /* cheap lower case for the dispatch */
        if (c == 'p' && starts_ci(p, "password"))
            next = redact_password(in, p, out);
        else if (*p == ':' && p[1] == '/' && p[2] == '/')
            next = redact_userinfo(p, out);
        else if (c == 'b' && starts_ci(p, "bearer"))
            next = redact_bearer(in, p, out);
        else if (c == 'a' && starts_ci(p, "authorization:"))
            next = redact_authz(p, out);
        if (next) {
            p = next;
        } else {
            sb_putc(out, *p++);
        }
    }
}

/* Redacts into a fresh buffer; NULL when out of memory. */
static char *redact_alloc(const char *in, size_t *len_out)
{
    struct sbuf stage = {0}, out = {0};
    const char *src = in;
    if (atomic_load(&n_published) > 0) {
        redact_secrets(in, &stage);
        sb_puts(&stage, ""); /* empty input still yields a string */
        if (stage.oom) {
            free(stage.p);
            return NULL;
        }
        src = stage.p;
    }
    redact_patterns(src, &out);
    sb_puts(&out, "");
    free(stage.p);
    if (out.oom) {
        free(out.p);
        return NULL;
    }
    if (len_out)
        *len_out = out.len;
    return out.p;
}

/* Any thread.  in may be NULL (empty output). */
void log_redact(const char *in, char *out, unsigned long outlen)
{
    if (!out || outlen == 0)
        return;
    char *r = redact_alloc(in ? in : "", NULL);
    /* Without memory the only safe answer is to show nothing. */
    snprintf(out, outlen, "%s", r ? r : "(redaction failed: out of memory)");
    free(r);
}

/* ---- line formatting ---------------------------------------------------- */

static const char *level_name(enum log_level level)
{
    if (level >= LOG_ERROR)
        return "ERROR";
    if (level >= LOG_WARN)
        return "WARN";
    if (level >= LOG_INFO)
        return "INFO";
    return "DEBUG";
}

static void format_ts(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

/* Cuts a redacted message to LOG_MSG_MAX bytes at a UTF-8 boundary. */
static void truncate_msg(char *msg, size_t len)
{
    if (len <= LOG_MSG_MAX)
        return;
    size_t cut = LOG_MSG_MAX - sizeof LOG_TRUNC_MARK;
    while (cut > 0 && ((unsigned char)msg[cut] & 0xC0) == 0x80)
        cut--;
    memcpy(msg + cut, LOG_TRUNC_MARK, sizeof LOG_TRUNC_MARK);
}

/* Text lines stay one line: control characters are escaped. */
static void put_escaped(struct sbuf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n') {
            sb_puts(b, "\\n");
        } else if (c == '\r') {
            sb_puts(b, "\\r");
        } else if (c < 0x20 && c != '\t') {
            char hex[8];
            snprintf(hex, sizeof hex, "\\x%02x", c);
            sb_puts(b, hex);
        } else {
            sb_putc(b, (char)c);
        }
    }
}

static void build_text(struct sbuf *b, const char *ts, enum log_level level,
                       const char *pass, const char *entity, const char *msg)
{
    char head[160];
    snprintf(head, sizeof head, "%s %-5s %s[%ld]", ts, level_name(level),
             g_log.role, (long)getpid());
    sb_puts(b, head);
    if (g_log.generation) {
        snprintf(head, sizeof head, " gen=%d", g_log.generation);
        sb_puts(b, head);
    }
    if (pass) {
        sb_puts(b, " pass=");
        put_escaped(b, pass);
    }
    if (entity) {
        sb_puts(b, " entity=");
        put_escaped(b, entity);
    }
    sb_puts(b, ": ");
    put_escaped(b, msg);
    sb_putc(b, '\n');
}

/* Length of a valid UTF-8 sequence at s, 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xE0) == 0xC0)
        n = 2, cp = s[0] & 0x1F;
    else if ((s[0] & 0xF0) == 0xE0)
        n = 3, cp = s[0] & 0x0F;
    else if ((s[0] & 0xF8) == 0xF0)
        n = 4, cp = s[0] & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* JSON strings must be valid UTF-8: invalid bytes become '?'. */
static json_t *json_string_lossy(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    struct sbuf b = {0};
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_len(p);
        sb_putn(&b, n ? (const char *)p : "?", n ? n : 1);
        p += n ? n : 1;
    }
    j = b.oom ? NULL : json_string(b.p ? b.p : "");
    free(b.p);
    return j;
}

static void build_json(struct sbuf *b, const char *ts, enum log_level level,
                       const char *pass, const char *entity, const char *msg)
{
    json_t *o = json_object();
    if (!o)
        return;
    char lvl[8];
    snprintf(lvl, sizeof lvl, "%s", level_name(level));
    for (char *c = lvl; *c; c++)
        *c = (char)(*c | 0x20);
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string(lvl));
    json_object_set_new(o, "role", json_string_lossy(g_log.role));
    json_object_set_new(o, "pid", json_integer((json_int_t)getpid()));
    if (g_log.generation)
        json_object_set_new(o, "generation", json_integer(g_log.generation));
    if (pass)
        json_object_set_new(o, "pass", json_string_lossy(pass));
    if (entity)
        json_object_set_new(o, "entity", json_string_lossy(entity));
    json_object_set_new(o, "msg", json_string_lossy(msg));
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        return;
    sb_puts(b, text);
    sb_putc(b, '\n');
    free(text);
}

static void write_line(const char *line, size_t len)
{
    pthread_mutex_lock(&write_mu);
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, line, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* stderr is gone: nothing sensible left to do */
        line += n;
        len -= (size_t)n;
    }
    pthread_mutex_unlock(&write_mu);
}

static void emit(enum log_level level, const char *pass, const char *entity,
                 const char *msg)
{
    char ts[40];
    format_ts(ts, sizeof ts);
    size_t len = 0;
    char *clean = redact_alloc(msg, &len);
    if (!clean) {
        static const char oom[] = "log: out of memory formatting a line\n";
        write_line(oom, sizeof oom - 1);
        return;
    }
    truncate_msg(clean, len);
    struct sbuf line = {0};
    if (g_log.format == LOG_FORMAT_JSON)
        build_json(&line, ts, level, pass, entity, clean);
    else
        build_text(&line, ts, level, pass, entity, clean);
    free(clean);
    if (line.oom || !line.p) {
        static const char oom[] = "log: out of memory formatting a line\n";
        write_line(oom, sizeof oom - 1);
    } else {
        write_line(line.p, line.len);
    }
    free(line.p);
}

/* Any thread; one write(2) per event.  Messages over LOG_MSG_MAX bytes
 * are cut with LOG_TRUNC_MARK after redaction. */
void log_eventv(enum log_level level, const char *pass, const char *entity,
                const char *fmt, va_list ap)
{
    if (!log_enabled(level) || !fmt)
        return;
    char stack[1024];
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(stack, sizeof stack, fmt, ap);
    if (n < 0) {
        va_end(copy);
        emit(level, pass, entity, "(unformattable log message)");
        return;
    }
    if ((size_t)n < sizeof stack) {
        va_end(copy);
        emit(level, pass, entity, stack);
        return;
    }
    char *heap = malloc((size_t)n + 1);
    if (heap)
        vsnprintf(heap, (size_t)n + 1, fmt, copy);
    va_end(copy);
    /* Out of memory: the first 1 KiB is still worth a line. */
    emit(level, pass, entity, heap ? heap : stack);
    free(heap);
}

/* See log_eventv. */
void log_event(enum log_level level, const char *pass, const char *entity,
               const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_eventv(level, pass, entity, fmt, ap);
    va_end(ap);
}

int log_redactf(char *out, unsigned long outlen, int code, const char *fmt, ...)
{
    if (!out || !outlen)
        return code;
    char raw[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    log_redact(raw, out, outlen);
    return code;
}
