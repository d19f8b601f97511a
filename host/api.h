/*
 * The HTTP API of the master: libmicrohttpd with its own epoll fd, driven
 * from the master's libev loop (an ev_io on MHD's epoll fd plus an
 * ev_timer for MHD's timeouts), so no MHD thread ever runs.  The module
 * does routing, bearer-token auth with roles, request size/time limits and
 * JSON error bodies; handlers (registered by the master) build replies.
 *
 * Tokens file: one token per line, "<role> <token> [name]", roles viewer <
 * steward < operator, '#' comment lines, blank lines; tokens of at least
 * 16 characters, registered with log_add_secret.  Tokens are compared in
 * constant time.  Without a tokens file, viewer routes are open (caller
 * "anonymous") and routes needing steward or operator answer 403.
 * All functions run on the loop thread (handlers are called there too).
 */
#ifndef HOST_API_H
#define HOST_API_H

#include <stdbool.h>
#include <stddef.h>

struct ev_loop;
struct api_server;

enum api_role {
    API_ROLE_NONE = 0,
    API_ROLE_VIEWER = 1,
    API_ROLE_STEWARD = 2,
    API_ROLE_OPERATOR = 3
};

struct api_request {
    const char *method;
    const char *path; /* without query string */
    const char *body; /* NUL-terminated, may be empty */
    size_t body_len;
    const char *caller; /* token name (or role) of the authenticated caller */
    void *conn;         /* for api_request_header */
};

struct api_reply {
    int status;               /* default 200 */
    char *body;               /* malloc'd; the api module frees it */
    const char *content_type; /* default "application/json" */
};

/* Returns a header value of the request, or NULL. */
const char *api_request_header(const struct api_request *req, const char *name);
/* Returns a query argument, or NULL. */
const char *api_request_arg(const struct api_request *req, const char *name);
/* Fills reply with {"error": message} and status. */
void api_reply_error(struct api_reply *reply, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Fills reply with the JSON dump of `value` (stolen) and status. */
void api_reply_json(struct api_reply *reply, int status, void *json_value);

typedef void (*api_handler_fn)(void *ud, const struct api_request *req,
                               struct api_reply *reply);

struct api_options {
    size_t max_body_bytes; /* default 1 MiB; larger bodies get 413 */
    int request_timeout_s; /* default 10 */
    int max_connections;   /* default 64 */
};

/* listen: "host:port" ("127.0.0.1:8080", "[::1]:8080", ":8080" = all).
 * Returns NULL with err on failure (bad address, port in use, bad tokens
 * file with line number). */
struct api_server *api_start(struct ev_loop *loop, const char *listen,
                             const char *tokens_file,
                             const struct api_options *opts, char *err,
                             size_t errlen);
/* Re-reads the tokens file (SIGHUP); keeps the old set on error. */
int api_reload_tokens(struct api_server *s, const char *tokens_file, char *err,
                      size_t errlen);
/* Registers a route.  `path` is exact ("/v1/runs"), or a prefix when its
 * last segment is a star: "/v1/runs/" followed by "*" matches
 * "/v1/runs/42" (not "/v1/runs/" itself).  First match wins; an unknown
 * path gets 404, a known path with another method 405 and an Allow header.
 * Returns 0, or -1 on a path not starting with '/' or out of memory. */
int api_route(struct api_server *s, const char *method, const char *path,
              enum api_role role, api_handler_fn fn, void *ud);
/* The port actually bound (useful with port 0). */
int api_port(const struct api_server *s);
void api_stop(struct api_server *s);

#endif
