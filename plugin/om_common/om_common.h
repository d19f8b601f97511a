/*
 * Pieces shared by the passes that talk to OpenMetadata.  Nothing here
 * keeps state; every function may be called from any thread.
 */
#ifndef OM_COMMON_H
#define OM_COMMON_H

#include <catalog_sync/pass.h>
#include <jansson.h>

/* printf into a malloc'd string (the caller frees), NULL on failure. */
char *om_fmt(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Percent-encodes everything but RFC 3986 unreserved characters, for a
 * URL path segment or query value.  malloc'd, NULL on allocation
 * failure. */
char *om_urlencode(const char *s);

/* The bot token from the pass config: `token` (which the manifest may
 * fill from token_file or ${VAR}), else the environment variable named by
 * `token_env`.  Registers it as a secret before anything can log it and
 * sets *header to a malloc'd "Authorization: Bearer <token>".  CS_OK;
 * CS_ERR_INVALID with the error set (naming what to configure, never the
 * token) when there is none or it holds a line break; CS_ERR_NOMEM.
 * Called from init(). */
int om_bearer_header(const cs_host_api *h, cs_ctx *ctx, const json_t *cfg,
                     char **header);

#endif
