/*
 * GET requests to OpenMetadata through the host's HTTP client, and the
 * error messages an operator can act on.  The token only ever travels in
 * the Authorization header: no message, log line or URL holds it.
 */
#include "dom.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The server's own explanation ({"code", "message"}), cut short: it
 * names the entity or the parameter that was refused. */
static const char *server_message(const cs_http_response *r, char *buf,
                                  size_t len)
{
    json_t *j = r->body ? json_loads(r->body, 0, NULL) : NULL;
    const char *m = json_string_value(json_object_get(j, "message"));
    snprintf(buf, len, "%s", m ? m : "");
    json_decref(j);
    return buf;
}

/* Long search URLs are cut in messages; the path says which call failed. */
#define URL_SHOWN 300

static int status_error(const struct dom_run *run, const char *url,
                        const cs_http_response *r)
{
    const cs_host_api *h = run->s->host;
    char msg[256];
    server_message(r, msg, sizeof msg);
    if (r->status == 401 || r->status == 403) {
        h->set_error(run->ctx,
                     "GET %.*s: OpenMetadata answered %ld%s%s: the token was "
                     "refused or lacks read rights on tables; give a valid "
                     "bot JWT in config.token (token_file: PATH or ${VAR}) "
                     "or in the environment variable named by "
                     "config.token_env",
                     URL_SHOWN, url, r->status, *msg ? ": " : "", msg);
        return CS_ERR_DENIED;
    }
    h->set_error(run->ctx, "GET %.*s: OpenMetadata answered %ld%s%s", URL_SHOWN,
                 url, r->status, *msg ? ": " : "", msg);
    return r->status >= 500 ? CS_ERR_UNAVAILABLE : CS_ERR;
}

static int parse_body(const struct dom_run *run, const char *url,
                      const cs_http_response *r, json_t **out)
{
    json_error_t e;
    *out = json_loadb(r->body ? r->body : "", r->body_len, 0, &e);
    if (*out)
        return CS_OK;
    run->s->host->set_error(run->ctx,
                            "GET %.*s: the answer is not JSON (line %d: %s)",
                            URL_SHOWN, url, e.line, e.text);
    return CS_ERR;
}

int dom_get_json(const struct dom_run *run, const char *url, json_t **out)
{
    const cs_host_api *h = run->s->host;
    const char *headers[] = {run->s->auth, "Accept: application/json", NULL};
    cs_http_request req = {.struct_size = sizeof req,
                           .method = "GET",
                           .url = url,
                           .headers = headers,
                           .timeout_ms = run->s->timeout_ms,
                           .max_retries = run->s->max_retries};
    cs_http_response resp;
    memset(&resp, 0, sizeof resp);
    *out = NULL;
    int rc = h->http(run->ctx, &req, &resp);
    if (rc != CS_OK) {
        h->set_error(run->ctx, "GET %.*s: %s", URL_SHOWN, url,
                     h->last_error(run->ctx));
        return rc;
    }
    if (resp.status == 404)
        rc = CS_ERR_NOT_FOUND;
    else if (resp.status < 200 || resp.status > 299)
        rc = status_error(run, url, &resp);
    else
        rc = parse_body(run, url, &resp, out);
    h->http_response_free(&resp);
    return rc;
}
