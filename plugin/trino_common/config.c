/*
 * The options every Trino pass shares: where the coordinator is, who we
 * are to it, the bearer token and the catalog map.
 */
#include "trino.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *opt_str(const json_t *cfg, const char *key)
{
    return json_string_value(json_object_get(cfg, key));
}

/* A header value must stay one header line. */
static bool has_line_break(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

static int read_url(trino_conf *c, const cs_host_api *h, cs_ctx *ctx,
                    const json_t *cfg, bool need_url)
{
    const char *url = opt_str(cfg, "trino_url");
    if (!url || !*url) {
        if (!need_url)
            return CS_OK;
        h->set_error(ctx, "config.trino_url is required (the Trino "
                          "coordinator, e.g. http://trino:8080)");
        return CS_ERR_INVALID;
    }
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        h->set_error(ctx, "config.trino_url must start with http:// or "
                          "https://");
        return CS_ERR_INVALID;
    }
    c->url = strdup(url);
    if (!c->url)
        return CS_ERR_NOMEM;
    size_t n = strlen(c->url);
    while (n > 0 && c->url[n - 1] == '/')
        c->url[--n] = '\0';
    return CS_OK;
}

static int read_user(trino_conf *c, const cs_host_api *h, cs_ctx *ctx,
                     const json_t *cfg)
{
    const char *user = opt_str(cfg, "trino_user");
    if (!user || !*user || has_line_break(user)) {
        h->set_error(ctx, "config.trino_user must be a non-empty name on "
                          "one line");
        return CS_ERR_INVALID;
    }
    if (asprintf(&c->user, "X-Trino-User: %s", user) < 0) {
        c->user = NULL;
        return CS_ERR_NOMEM;
    }
    return CS_OK;
}

/* config.trino_token (or trino_token_file / ${VAR} in the manifest), else
 * the variable named by trino_token_env; none at all means no
 * Authorization header, as for a coordinator without authentication. */
static int read_token(trino_conf *c, const cs_host_api *h, cs_ctx *ctx,
                      const json_t *cfg)
{
    const char *tok = opt_str(cfg, "trino_token");
    const char *env = opt_str(cfg, "trino_token_env");
    if (!tok && env && *env)
        tok = getenv(env);
    if (!tok || !*tok)
        return CS_OK;
    h->secret_register(ctx, tok);
    if (has_line_break(tok)) {
        h->set_error(ctx,
                     "the Trino token (config.trino_token or $%s) holds "
                     "a line break",
                     env && *env ? env : "TRINO_TOKEN");
        return CS_ERR_INVALID;
    }
    if (asprintf(&c->auth, "Authorization: Bearer %s", tok) < 0) {
        c->auth = NULL;
        return CS_ERR_NOMEM;
    }
    return CS_OK;
}

static int read_catalogs(trino_conf *c, const cs_host_api *h, cs_ctx *ctx,
                         const json_t *cfg)
{
    json_t *map = json_object_get(cfg, "catalogs");
    const char *key;
    json_t *v;
    json_object_foreach(map, key, v)
    {
        if (!json_is_string(v) || !*json_string_value(v)) {
            h->set_error(ctx,
                         "config.catalogs.%s must be a string (the Trino "
                         "catalog of that OpenMetadata service or database)",
                         key);
            return CS_ERR_INVALID;
        }
    }
    c->catalogs = map ? json_incref(map) : json_object();
    return c->catalogs ? CS_OK : CS_ERR_NOMEM;
}

/* See trino.h. */
int trino_conf_init(trino_conf *c, const cs_host_api *h, cs_ctx *ctx,
                    bool need_url)
{
    const json_t *cfg = h->config(ctx);
    memset(c, 0, sizeof *c);
    int rc = read_url(c, h, ctx, cfg, need_url);
    if (rc == CS_OK)
        rc = read_user(c, h, ctx, cfg);
    if (rc == CS_OK)
        rc = read_token(c, h, ctx, cfg);
    if (rc == CS_OK)
        rc = read_catalogs(c, h, ctx, cfg);
    if (rc == CS_ERR_NOMEM)
        h->set_error(ctx, "out of memory reading the Trino options");
    if (rc != CS_OK)
        trino_conf_free(c);
    return rc;
}

/* See trino.h. */
void trino_conf_free(trino_conf *c)
{
    if (!c)
        return;
    free(c->url);
    free(c->user);
    if (c->auth) /* the token: do not leave it in freed memory */
        memset(c->auth, 0, strlen(c->auth));
    free(c->auth);
    json_decref(c->catalogs);
    memset(c, 0, sizeof *c);
}
