/*
 * The egress allow-list: every HTTP and SQL connection a pass opens is
 * checked here first.  Rules come from the manifest's `egress:` list:
 * "host:port", "host" or "host:*" (any port), "*.example.org:443" (any
 * subdomain, not the bare domain), "[::1]:8080".  Host names compare
 * case-insensitively and literally (no DNS), so a rule names what the
 * operator wrote in the URL or DSN.  Unix-socket DSNs are written as
 * "unix:/path/to/dir" rules.
 */
#ifndef HOST_EGRESS_H
#define HOST_EGRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "manifest.h"

/* Parses one rule as written in the manifest; 0 or -1 with err. */
int egress_parse_rule(const char *text, struct mf_egress_rule *out, char *err,
                      size_t errlen);
bool egress_allowed(const struct mf_egress_rule *rules, size_t n,
                    const char *host, int port);
/* Extracts host and port from a URL (default ports by scheme).  0 / -1. */
int egress_url_target(const char *url, char *host, size_t hostlen, int *port,
                      char *err, size_t errlen);
/* Extracts host and port from a libpq conninfo or URI: every host of a
 * multi-host DSN must be allowed, so this fills arrays.  Unix socket
 * directories come back as "unix:/dir" with port 0.  Returns the count or
 * -1 with err. */
int egress_dsn_targets(const char *dsn, char hosts[][256], int *ports, int max,
                       char *err, size_t errlen);

#endif
