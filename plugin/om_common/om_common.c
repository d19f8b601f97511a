/* See om_common.h. */
#include "om_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *om_fmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *out = malloc((size_t)n + 1);
    if (!out)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return out;
}

char *om_urlencode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(3 * strlen(s) + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
            *o++ = (char)*p;
            continue;
        }
        *o++ = '%';
        *o++ = hex[*p >> 4];
        *o++ = hex[*p & 15];
    }
    *o = '\0';
    return out;
}

int om_bearer_header(const cs_host_api *h, cs_ctx *ctx, const json_t *cfg,
                     char **header)
{
    const char *env = json_string_value(json_object_get(cfg, "token_env"));
    const char *tok = json_string_value(json_object_get(cfg, "token"));
    if (!tok || !*tok)
        tok = env && *env ? getenv(env) : NULL;
    if (!tok || !*tok) {
        h->set_error(ctx,
                     "no OpenMetadata token: set config.token (token_file: "
                     "PATH or ${VAR}) or the environment variable %s",
                     env && *env ? env : "named by config.token_env");
        return CS_ERR_INVALID;
    }
    if (strpbrk(tok, "\r\n")) {
        h->set_error(ctx, "the OpenMetadata token holds a line break");
        return CS_ERR_INVALID;
    }
    h->secret_register(ctx, tok);
    *header = om_fmt("Authorization: Bearer %s", tok);
    return *header ? CS_OK : CS_ERR_NOMEM;
}
