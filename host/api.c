/*
 * HTTP API server of the master.  libmicrohttpd runs in "external epoll"
 * mode: it owns an epoll fd that we watch with an ev_io on the master's
 * libev loop, and an ev_timer re-armed from MHD_get_timeout() after every
 * MHD_run() lets MHD expire idle connections.  No MHD thread exists, so
 * handlers run on the loop thread and may touch master state freely; they
 * must stay quick because they block the loop.
 *
 * We open the listening socket ourselves (rather than letting MHD bind) so
 * a bind error can name the address and the errno reason.
 */
#include "api.h"

#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_MAX_BODY (1024 * 1024)
#define DEFAULT_TIMEOUT_S 10
#define DEFAULT_MAX_CONN 64
#define MIN_TOKEN_LEN 16
#define NO_TOKENS_MSG "no API tokens configured (api.tokens_file)"

struct route {
    char *method;
    char *path;        /* as registered, with the trailing star if any */
    size_t prefix_len; /* 0: exact; else length of "/v1/runs/" */
    enum api_role role;
    api_handler_fn fn;
    void *ud;
};

struct token {
    enum api_role role;
    char *secret;
    size_t len;
    char *name; /* NULL: the caller is named after the role */
    int line;
};

struct tokenset {
    bool configured; /* a tokens file was given (it may hold no token) */
    struct token *v;
    size_t n;
};

struct api_server {
    struct ev_loop *loop;
    struct MHD_Daemon *mhd;
    ev_io io;
    ev_timer timer;
    int port;
    struct api_options opts;
    struct route *routes;
    size_t n_routes, cap_routes;
    struct tokenset tokens;
};

/* Per-request state kept by MHD between access-handler calls. */
struct conn_ctx {
    char *body;
    size_t len, cap;
    bool too_large;
};

static const char *role_name(enum api_role r)
{
    switch (r) {
    case API_ROLE_VIEWER:
        return "viewer";
    case API_ROLE_STEWARD:
        return "steward";
    case API_ROLE_OPERATOR:
        return "operator";
    default:
        return "none";
    }
}

/* ---- replies ------------------------------------------------------------- */

/* JSON text plus a newline (friendlier for curl users), malloc'd. */
static char *dump_json(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return NULL;
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    return t;
}

/* Public, see api.h.  On out-of-memory the body stays empty but the status
 * is still set. */
void api_reply_error(struct api_reply *reply, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *v = json_pack("{s:s}", "error", msg);
    free(reply->body);
    reply->body = v ? dump_json(v) : NULL;
    reply->status = status;
    reply->content_type = NULL;
    json_decref(v);
}

/* Public, see api.h.  A NULL value (a failed json_pack) becomes a 500. */
void api_reply_json(struct api_reply *reply, int status, void *json_value)
{
    json_t *v = json_value;
    char *text = v ? dump_json(v) : NULL;
    json_decref(v);
    if (!text) {
        api_reply_error(reply, 500, "out of memory building the reply");
        return;
    }
    free(reply->body);
    reply->body = text;
    reply->status = status;
    reply->content_type = NULL;
}

/* Public, see api.h.  Valid only during the handler call. */
const char *api_request_header(const struct api_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* Public, see api.h.  Valid only during the handler call. */
const char *api_request_arg(const struct api_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct reply_extra {
    const char *allow; /* 405 */
    bool www_auth;     /* 401 */
    bool close;        /* body left unread: do not keep the connection */
};

static bool add_headers(struct MHD_Response *resp, const struct api_reply *r,
                        const struct reply_extra *x)
{
    const char *ct = r->content_type ? r->content_type : "application/json";
    return MHD_add_response_header(resp, "Content-Type", ct) == MHD_YES &&
           MHD_add_response_header(resp, "Cache-Control", "no-store") ==
               MHD_YES &&
           (!x->allow ||
            MHD_add_response_header(resp, "Allow", x->allow) == MHD_YES) &&
           (!x->www_auth || MHD_add_response_header(resp, "WWW-Authenticate",
                                                    "Bearer") == MHD_YES) &&
           (!x->close ||
            MHD_add_response_header(resp, "Connection", "close") == MHD_YES);
}

/* Queues the reply; takes ownership of r->body in every case. */
static enum MHD_Result send_reply(struct MHD_Connection *c, struct api_reply *r,
                                  const struct reply_extra *x)
{
    struct MHD_Response *resp;
    if (r->body)
        resp = MHD_create_response_from_buffer(strlen(r->body), r->body,
                                               MHD_RESPMEM_MUST_FREE);
    else
        resp = MHD_create_response_from_buffer(0, (void *)"",
                                               MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(r->body);
        r->body = NULL;
        return MHD_NO; /* MHD closes the connection */
    }
    r->body = NULL; /* the response owns it now */
    if (r->status < 100 || r->status > 599)
        r->status = 500;
    enum MHD_Result ret = MHD_NO;
    if (add_headers(resp, r, x))
        ret = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c,
                                  const struct reply_extra *x, int status,
                                  const char *msg)
{
    struct api_reply r = {0};
    api_reply_error(&r, status, "%s", msg);
    return send_reply(c, &r, x);
}

/* ---- tokens -------------------------------------------------------------- */

static void tokens_free(struct tokenset *ts)
{
    for (size_t i = 0; i < ts->n; i++) {
        explicit_bzero(ts->v[i].secret, ts->v[i].len);
        free(ts->v[i].secret);
        free(ts->v[i].name);
    }
    free(ts->v);
    memset(ts, 0, sizeof *ts);
}

static int parse_role(const char *s, enum api_role *role)
{
    static const enum api_role roles[] = {API_ROLE_VIEWER, API_ROLE_STEWARD,
                                          API_ROLE_OPERATOR};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (!strcmp(s, role_name(roles[i]))) {
            *role = roles[i];
            return 0;
        }
    return -1;
}

/* Checks one line's fields; the error never quotes a token. */
static int check_fields(const char *path, int line, char **f, int nf,
                        const struct tokenset *ts, enum api_role *role,
                        char *err, size_t errlen)
{
    if (nf < 2 || nf > 3) {
        snprintf(err, errlen, "%s:%d: expected \"<role> <token> [name]\"", path,
                 line);
        return -1;
    }
    if (parse_role(f[0], role) < 0) {
        /* A long "role" is probably a token written first: don't echo it. */
        snprintf(err, errlen,
                 "%s:%d: unknown role \"%s\" (expected viewer, steward or "
                 "operator, then the token)",
                 path, line, strlen(f[0]) < MIN_TOKEN_LEN ? f[0] : "...");
        return -1;
    }
    size_t len = strlen(f[1]);
    if (len < MIN_TOKEN_LEN) {
        snprintf(err, errlen,
                 "%s:%d: token too short (%zu characters, at least %d)", path,
                 line, len, MIN_TOKEN_LEN);
        return -1;
    }
    for (size_t i = 0; i < ts->n; i++)
        if (ts->v[i].len == len && !memcmp(ts->v[i].secret, f[1], len)) {
            snprintf(err, errlen, "%s:%d: duplicate token (also on line %d)",
                     path, line, ts->v[i].line);
            return -1;
        }
    return 0;
}

static int token_add(struct tokenset *ts, enum api_role role, const char *tok,
                     const char *name, int line)
{
    struct token *v = realloc(ts->v, (ts->n + 1) * sizeof *v);
    if (!v)
        return -1;
    ts->v = v;
    struct token *t = &v[ts->n];
    t->role = role;
    t->secret = strdup(tok);
    t->len = strlen(tok);
    t->name = name ? strdup(name) : NULL;
    t->line = line;
    if (!t->secret || (name && !t->name)) {
        free(t->secret);
        free(t->name);
        return -1;
    }
    ts->n++;
    return 0;
}

/* One line of the tokens file; blank lines and '#' comment lines pass. */
static int tokens_line(const char *path, int line, char *text,
                       struct tokenset *ts, char *err, size_t errlen)
{
    char *f[4], *save = NULL;
    int nf = 0;
    for (char *w = strtok_r(text, " \t\r\n", &save); w && nf < 4;
         w = strtok_r(NULL, " \t\r\n", &save))
        f[nf++] = w;
    if (nf == 0 || f[0][0] == '#')
        return 0;
    enum api_role role;
    if (check_fields(path, line, f, nf, ts, &role, err, errlen) < 0)
        return -1;
    if (token_add(ts, role, f[1], nf == 3 ? f[2] : NULL, line) < 0) {
        snprintf(err, errlen, "%s:%d: out of memory", path, line);
        return -1;
    }
    return 0;
}

/* Parses `path` into *out (empty and unconfigured when path is NULL or
 * ""); on error *out is left empty and err names file:line. */
static int tokens_load(const char *path, struct tokenset *out, char *err,
                       size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!path || !*path)
        return 0;
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "api.tokens_file %s: %s", path, strerror(errno));
        return -1;
    }
    out->configured = true;
    char *buf = NULL;
    size_t cap = 0;
    int line = 0, rc = 0;
    while (rc == 0 && getline(&buf, &cap, f) >= 0)
        rc = tokens_line(path, ++line, buf, out, err, errlen);
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "api.tokens_file %s: read error", path);
        rc = -1;
    }
    if (buf)
        explicit_bzero(buf, cap);
    free(buf);
    fclose(f);
    if (rc < 0)
        tokens_free(out);
    return rc;
}

static void tokens_register_secrets(const struct tokenset *ts, const char *path)
{
    for (size_t i = 0; i < ts->n; i++)
        log_add_secret(ts->v[i].secret);
    if (ts->configured && ts->n == 0)
        log_warn("api.tokens_file %s holds no token: every route that needs "
                 "a role will answer 401",
                 path);
}

/* Public, see api.h.  Loop thread only. */
int api_reload_tokens(struct api_server *s, const char *tokens_file, char *err,
                      size_t errlen)
{
    struct tokenset ts;
    if (tokens_load(tokens_file, &ts, err, errlen) < 0)
        return -1;
    tokens_register_secrets(&ts, tokens_file);
    tokens_free(&s->tokens);
    s->tokens = ts;
    return 0;
}

/* Equal in time that depends only on the presented length, never on where
 * the first difference is. */
static bool ct_equal(const char *secret, size_t slen, const char *given,
                     size_t glen)
{
    volatile unsigned char acc = (unsigned char)(slen != glen);
    for (size_t i = 0; i < glen; i++)
        acc |= (unsigned char)(given[i] ^ secret[i % slen]);
    return acc == 0;
}

/* Compares against every token without an early exit. */
static const struct token *token_find(const struct tokenset *ts,
                                      const char *given)
{
    const struct token *hit = NULL;
    size_t glen = given ? strlen(given) : 0;
    if (!given)
        return NULL;
    for (size_t i = 0; i < ts->n; i++) {
        bool eq = ct_equal(ts->v[i].secret, ts->v[i].len, given, glen);
        hit = eq ? &ts->v[i] : hit;
    }
    return hit;
}

/* The token of "Authorization: Bearer <token>", or NULL. */
static const char *bearer_token(struct MHD_Connection *c)
{
    const char *h =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7))
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return *h ? h : NULL;
}

/* ---- routing and auth ---------------------------------------------------- */

/* Public, see api.h.  Call before requests arrive (loop thread).  Returns
 * -1 on a bad path or out of memory. */
int api_route(struct api_server *s, const char *method, const char *path,
              enum api_role role, api_handler_fn fn, void *ud)
{
    if (!s || !method || !path || path[0] != '/' || !fn)
        return -1;
    if (s->n_routes == s->cap_routes) {
        size_t cap = s->cap_routes ? s->cap_routes * 2 : 16;
        struct route *r = realloc(s->routes, cap * sizeof *r);
        if (!r)
            return -1;
        s->routes = r;
        s->cap_routes = cap;
    }
    struct route *r = &s->routes[s->n_routes];
    size_t len = strlen(path);
    r->method = strdup(method);
    r->path = strdup(path);
    r->prefix_len = len >= 2 && !strcmp(path + len - 2, "/*") ? len - 1 : 0;
    r->role = role;
    r->fn = fn;
    r->ud = ud;
    if (!r->method || !r->path) {
        free(r->method);
        free(r->path);
        return -1;
    }
    s->n_routes++;
    return 0;
}

/* A prefix route needs at least one character after its slash. */
static bool path_matches(const struct route *r, const char *path)
{
    if (!r->prefix_len)
        return !strcmp(r->path, path);
    return !strncmp(r->path, path, r->prefix_len) && path[r->prefix_len];
}

/* First route matching path and method; else NULL with the methods the
 * path does accept in `allow` (empty: unknown path). */
static const struct route *route_find(const struct api_server *s,
                                      const char *method, const char *path,
                                      char *allow, size_t allowlen)
{
    size_t used = 0;
    allow[0] = '\0';
    for (size_t i = 0; i < s->n_routes; i++) {
        const struct route *r = &s->routes[i];
        if (!path_matches(r, path))
            continue;
        if (!strcmp(r->method, method))
            return r;
        if (strstr(allow, r->method)) /* crude de-duplication is enough */
            continue;
        int n = snprintf(allow + used, allowlen - used, "%s%s",
                         used ? ", " : "", r->method);
        if (n > 0 && (size_t)n < allowlen - used)
            used += (size_t)n;
        else
            allow[used] = '\0';
    }
    return NULL;
}

/* Decides whether the caller may use route r.  Returns 0 and sets *caller,
 * or fills status, msg and x for the refusal. */
static int authorize(const struct api_server *s, struct MHD_Connection *c,
                     const struct route *r, const char **caller, int *status,
                     const char **msg, struct reply_extra *x)
{
    const struct token *t = token_find(&s->tokens, bearer_token(c));
    *caller = t ? (t->name ? t->name : role_name(t->role)) : "anonymous";
    if (r->role == API_ROLE_NONE)
        return 0;
    if (!s->tokens.configured) {
        /* Reading is open on a token-less install; changing things is
         * not. */
        if (r->role == API_ROLE_VIEWER)
            return 0;
        *status = 403;
        *msg = NO_TOKENS_MSG;
        return -1;
    }
    if (!t) {
        *status = 401;
        *msg = "missing or invalid API token";
        x->www_auth = true;
        return -1;
    }
    if (t->role < r->role) {
        *status = 403;
        *msg = r->role == API_ROLE_OPERATOR ? "this needs the operator role"
                                            : "this needs the steward role";
        return -1;
    }
    return 0;
}

static enum MHD_Result run_handler(const struct route *r,
                                   struct MHD_Connection *c, const char *url,
                                   const char *method, struct conn_ctx *ctx,
                                   const char *caller)
{
    struct api_request req = {
        .method = method,
        .path = url,
        .body = ctx->body ? ctx->body : "",
        .body_len = ctx->len,
        .caller = caller,
        .conn = c,
    };
    struct api_reply reply = {.status = 200};
    struct reply_extra x = {0};
    r->fn(r->ud, &req, &reply);
    log_debug("api: %s %s -> %d (caller %s)", method, url, reply.status,
              caller);
    return send_reply(c, &reply, &x);
}

static enum MHD_Result dispatch(struct api_server *s, struct MHD_Connection *c,
                                const char *url, const char *method,
                                struct conn_ctx *ctx)
{
    char allow[256];
    struct reply_extra x = {0};
    const struct route *r = route_find(s, method, url, allow, sizeof allow);
    if (!r && allow[0]) {
        x.allow = allow;
        return send_error(c, &x, 405, "method not allowed on this path");
    }
    if (!r)
        return send_error(c, &x, 404, "no such endpoint");
    if (ctx->too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "request body larger than %zu bytes",
                 s->opts.max_body_bytes);
        return send_error(c, &x, 413, msg);
    }
    const char *caller = NULL, *msg = NULL;
    int status = 0;
    if (authorize(s, c, r, &caller, &status, &msg, &x) < 0) {
        log_info("api: %s %s refused with %d: %s", method, url, status, msg);
        return send_error(c, &x, status, msg);
    }
    /* The caller's name lives in the token table, which a handler may
     * replace (POST /v1/reload re-reads the tokens file): keep a copy. */
    char caller_copy[256];
    snprintf(caller_copy, sizeof caller_copy, "%s", caller);
    return run_handler(r, c, url, method, ctx, caller_copy);
}

/* ---- MHD callbacks ------------------------------------------------------- */

/* Keeps the body up to the limit; past it, drops what was read and
 * swallows the rest so the 413 can be answered cleanly. */
static int body_append(struct conn_ctx *ctx, const char *data, size_t n,
                       size_t max)
{
    if (ctx->too_large)
        return 0;
    if (n > max - ctx->len) {
        ctx->too_large = true;
        free(ctx->body);
        ctx->body = NULL;
        ctx->len = ctx->cap = 0;
        return 0;
    }
    if (ctx->len + n + 1 > ctx->cap) {
        size_t cap = ctx->cap ? ctx->cap : 1024;
        while (cap < ctx->len + n + 1)
            cap *= 2;
        char *b = realloc(ctx->body, cap);
        if (!b)
            return -1;
        ctx->body = b;
        ctx->cap = cap;
    }
    memcpy(ctx->body + ctx->len, data, n);
    ctx->len += n;
    ctx->body[ctx->len] = '\0';
    return 0;
}

/* A declared Content-Length over the limit is refused before the body is
 * read (curl's "Expect: 100-continue" then never sends it). */
static bool declared_too_large(struct MHD_Connection *c, size_t max)
{
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    if (!cl)
        return false;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(cl, &end, 10);
    return errno == ERANGE || (end != cl && n > max);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct api_server *s = cls;
    struct conn_ctx *ctx = *con_cls;
    if (!ctx) {
        ctx = calloc(1, sizeof *ctx);
        if (!ctx)
            return MHD_NO;
        *con_cls = ctx;
        if (declared_too_large(c, s->opts.max_body_bytes)) {
            struct reply_extra x = {.close = true};
            char msg[128];
            snprintf(msg, sizeof msg, "request body larger than %zu bytes",
                     s->opts.max_body_bytes);
            return send_error(c, &x, 413, msg);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        int rc = body_append(ctx, upload, *upload_size, s->opts.max_body_bytes);
        *upload_size = 0;
        return rc < 0 ? MHD_NO : MHD_YES;
    }
    return dispatch(s, c, url, method, ctx);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct conn_ctx *ctx = *con_cls;
    if (ctx) {
        free(ctx->body);
        free(ctx);
    }
    *con_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_warn("api: %s", msg);
}

/* ---- listening socket ---------------------------------------------------- */

/* Splits "host:port", "[v6]:port" or ":port" into host ("" = any) and a
 * numeric port string. */
static int split_listen(const char *listen, char *host, size_t hostlen,
                        char *port, size_t portlen, char *err, size_t errlen)
{
    const char *colon, *h = listen;
    size_t hlen;
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (!close || close[1] != ':')
            goto bad;
        h = listen + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon || memchr(listen, ':', (size_t)(colon - listen)))
            goto bad; /* no port, or a bare IPv6 address */
        hlen = (size_t)(colon - listen);
    }
    const char *p = colon + 1;
    size_t plen = strlen(p);
    if (plen == 0 || plen > 5 || strspn(p, "0123456789") != plen ||
        atoi(p) > 65535) {
        snprintf(err, errlen, "api.listen \"%s\": port must be 0..65535",
                 listen);
        return -1;
    }
    if (hlen >= hostlen || plen >= portlen)
        goto bad;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    memcpy(port, p, plen + 1);
    return 0;
bad:
    snprintf(err, errlen,
             "api.listen \"%s\": expected host:port, [ipv6]:port or :port",
             listen);
    return -1;
}

/* socket+bind+listen; returns the fd or -1 with errno set. */
static int bind_one(const struct sockaddr *sa, socklen_t salen, bool dual)
{
    int fd =
        socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1, zero = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        (dual &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) < 0) ||
        bind(fd, sa, salen) < 0 || listen(fd, SOMAXCONN) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* ":port" binds every address: IPv6 dual-stack when the kernel has IPv6,
 * else IPv4 only. */
static int bind_any(int port)
{
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
                              .sin6_port = htons((uint16_t)port),
                              .sin6_addr = IN6ADDR_ANY_INIT};
    int fd = bind_one((struct sockaddr *)&a6, sizeof a6, true);
    if (fd >= 0 || (errno != EAFNOSUPPORT && errno != EPROTONOSUPPORT))
        return fd;
    struct sockaddr_in a4 = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_ANY)};
    return bind_one((struct sockaddr *)&a4, sizeof a4, false);
}

static int open_listener(const char *listen, char *err, size_t errlen)
{
    char host[256], port[8];
    if (split_listen(listen, host, sizeof host, port, sizeof port, err,
                     errlen) < 0)
        return -1;
    int fd = -1, e = 0;
    if (!host[0]) {
        fd = bind_any(atoi(port));
        e = errno;
    } else {
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                                 .ai_flags = AI_NUMERICSERV | AI_PASSIVE},
                        *res = NULL;
        int g = getaddrinfo(host, port, &hints, &res);
        if (g) {
            snprintf(err, errlen, "api.listen %s: cannot resolve %s: %s",
                     listen, host, gai_strerror(g));
            return -1;
        }
        for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
            fd = bind_one(a->ai_addr, a->ai_addrlen, false);
            e = errno;
        }
        freeaddrinfo(res);
    }
    if (fd < 0)
        snprintf(err, errlen, "api.listen %s: %s", listen, strerror(e));
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* ---- libev glue ---------------------------------------------------------- */

/* MHD's next deadline; 0 means "work is pending", which ev_timer_again
 * would read as "stop", hence the tiny positive delay. */
static void arm_timer(struct api_server *s)
{
    MHD_UNSIGNED_LONG_LONG ms = 0;
    if (MHD_get_timeout(s->mhd, &ms) != MHD_YES) {
        ev_timer_stop(s->loop, &s->timer);
        return;
    }
    s->timer.repeat = ms ? (double)ms / 1000.0 : 1e-6;
    ev_timer_again(s->loop, &s->timer);
}

static void on_epoll_ready(struct ev_loop *loop, ev_io *w, int revents)
{
    struct api_server *s = w->data;
    MHD_run(s->mhd);
    arm_timer(s);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct api_server *s = w->data;
    MHD_run(s->mhd);
    arm_timer(s);
}

/* ---- lifecycle ----------------------------------------------------------- */

static void apply_defaults(struct api_options *o, const struct api_options *in)
{
    if (in)
        *o = *in;
    if (!o->max_body_bytes)
        o->max_body_bytes = DEFAULT_MAX_BODY;
    if (o->request_timeout_s <= 0)
        o->request_timeout_s = DEFAULT_TIMEOUT_S;
    if (o->max_connections <= 0)
        o->max_connections = DEFAULT_MAX_CONN;
}

static struct MHD_Daemon *start_mhd(struct api_server *s, int fd)
{
    return MHD_start_daemon(
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, s,
        /* MHD wants its logger before any other option. */
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)s->opts.request_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)s->opts.max_connections,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
}

/* Hooks MHD's epoll fd into the loop. */
static int attach_loop(struct api_server *s, char *err, size_t errlen)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info || info->epoll_fd < 0) {
        snprintf(err, errlen, "api: libmicrohttpd has no epoll fd");
        return -1;
    }
    ev_io_init(&s->io, on_epoll_ready, info->epoll_fd, EV_READ);
    s->io.data = s;
    ev_init(&s->timer, on_timer);
    s->timer.data = s;
    ev_io_start(s->loop, &s->io);
    arm_timer(s);
    return 0;
}

/* Public, see api.h.  Runs on the loop's thread; handlers are called there
 * too.  `listen` and `tokens_file` are not kept. */
struct api_server *api_start(struct ev_loop *loop, const char *listen,
                             const char *tokens_file,
                             const struct api_options *opts, char *err,
                             size_t errlen)
{
    struct api_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "api: out of memory");
        return NULL;
    }
    s->loop = loop;
    if (!listen)
        listen = "";
    apply_defaults(&s->opts, opts);
    if (api_reload_tokens(s, tokens_file, err, errlen) < 0) {
        free(s);
        return NULL;
    }
    int fd = open_listener(listen, err, errlen);
    if (fd < 0)
        goto fail;
    s->port = bound_port(fd);
    s->mhd = start_mhd(s, fd);
    if (!s->mhd) {
        /* Not closing fd: MHD closes a given socket on most of its
         * failure paths but not all, and a double close could hit another
         * thread's descriptor; a leak on a failed start is the lesser
         * evil. */
        snprintf(err, errlen, "api.listen %s: libmicrohttpd failed to start",
                 listen);
        goto fail;
    }
    if (attach_loop(s, err, errlen) < 0)
        goto fail;
    log_debug("api: listening on %s (port %d)", listen, s->port);
    return s;
fail:
    api_stop(s);
    return NULL;
}

/* Public, see api.h. */
int api_port(const struct api_server *s)
{
    return s ? s->port : -1;
}

/* Public, see api.h.  Loop thread (or after the loop stopped); in-flight
 * connections are closed. */
void api_stop(struct api_server *s)
{
    if (!s)
        return;
    if (s->mhd) {
        ev_io_stop(s->loop, &s->io);
        ev_timer_stop(s->loop, &s->timer);
        MHD_stop_daemon(s->mhd); /* closes the listening socket too */
    }
    for (size_t i = 0; i < s->n_routes; i++) {
        free(s->routes[i].method);
        free(s->routes[i].path);
    }
    free(s->routes);
    tokens_free(&s->tokens);
    free(s);
}
