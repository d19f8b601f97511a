/*
 * The egress allow-list: rule parsing, matching, and extraction of the
 * host:port a URL or a libpq DSN will connect to.  See egress.h.
 *
 * Matching is literal (no DNS): the operator allows what they wrote, and
 * a name that resolves somewhere else is the network policy's business.
 */
#include "egress.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

#define PG_DEFAULT_PORT 5432
#define PG_DEFAULT_SOCKET_DIR "/var/run/postgresql"
#define UNIX_PREFIX "unix:"

/* ---- rules -------------------------------------------------------------- */

static int rule_error(char *err, size_t errlen, const char *text,
                      const char *why)
{
    if (err && errlen)
        snprintf(err, errlen, "egress rule \"%s\": %s", text, why);
    return -1;
}

/* Port text: "*" = any (0), else 1..65535. */
static int parse_port(const char *s, int *port)
{
    if (strcmp(s, "*") == 0) {
        *port = 0;
        return 0;
    }
    if (!*s || strlen(s) > 5 || strspn(s, "0123456789") != strlen(s))
        return -1;
    long v = strtol(s, NULL, 10);
    if (v < 1 || v > 65535)
        return -1;
    *port = (int)v;
    return 0;
}

/* Host names: letters, digits, '-', '_' and dots, optionally starting
 * with "*." (subdomains only); no empty label. */
static const char *check_hostname(const char *h)
{
    if (h[0] == '*' && h[1] == '.')
        h += 2;
    if (!*h)
        return "empty host";
    if (strchr(h, '*'))
        return "'*' is only allowed as the first label (\"*.example.org\")";
    if (h[0] == '.' || strstr(h, ".."))
        return "empty label in host name";
    for (const char *c = h; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
            return "host may only contain letters, digits, '-', '_' and '.'";
    return NULL;
}

static char *lower_dup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++)
        d[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] | 0x20) : s[i];
    d[n] = '\0';
    while (n > 1 && d[n - 1] == '.') /* "example.org." is "example.org" */
        d[--n] = '\0';
    return d;
}

/* "[v6]" or "[v6]:port" / "[v6]:*". */
static int parse_v6_rule(const char *t, char *host, size_t hostlen, int *port,
                         const char **why)
{
    const char *close = strchr(t, ']');
    if (!close)
        return *why = "missing ']' after an IPv6 address", -1;
    size_t n = (size_t)(close - t - 1);
    char addr[64];
    struct in6_addr a6;
    if (n == 0 || n >= sizeof addr)
        return *why = "invalid IPv6 address", -1;
    memcpy(addr, t + 1, n);
    addr[n] = '\0';
    if (inet_pton(AF_INET6, addr, &a6) != 1)
        return *why = "invalid IPv6 address", -1;
    char canon[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &a6, canon, sizeof canon);
    snprintf(host, hostlen, "[%s]", canon);
    *port = 0;
    if (close[1] == '\0')
        return 0;
    if (close[1] != ':' || parse_port(close + 2, port) < 0)
        return *why = "port must be 1..65535 or '*'", -1;
    return 0;
}

/* "host", "host:port", "host:*". */
static int parse_host_rule(const char *t, char **host, int *port,
                           const char **why)
{
    const char *colon = strrchr(t, ':');
    if (colon && strchr(t, ':') != colon)
        return *why = "an IPv6 address must be written in brackets "
                      "(\"[::1]:5432\")",
               -1;
    size_t n = colon ? (size_t)(colon - t) : strlen(t);
    *port = 0;
    if (colon && parse_port(colon + 1, port) < 0)
        return *why = "port must be 1..65535 or '*'", -1;
    *host = lower_dup(t, n);
    if (!*host)
        return *why = "out of memory", -1;
    if ((*why = check_hostname(*host)) != NULL) {
        free(*host);
        *host = NULL;
        return -1;
    }
    return 0;
}

static int parse_unix_rule(const char *t, char **host, const char **why)
{
    const char *path = t + strlen(UNIX_PREFIX);
    if (path[0] != '/')
        return *why = "a unix socket rule needs an absolute directory "
                      "(\"unix:/var/run/postgresql\")",
               -1;
    size_t n = strlen(t);
    while (n > strlen(UNIX_PREFIX) + 1 && t[n - 1] == '/')
        n--; /* "unix:/dir/" is "unix:/dir" */
    *host = strndup(t, n);
    if (!*host)
        return *why = "out of memory", -1;
    return 0;
}

/* Parses one rule; only out->host and out->port are written (the caller
 * owns out->pos).  out->host is malloc'd, lower case, IPv6 canonical. */
int egress_parse_rule(const char *text, struct mf_egress_rule *out, char *err,
                      size_t errlen)
{
    if (!text || !out)
        return rule_error(err, errlen, text ? text : "(null)", "no rule");
    char buf[512];
    size_t start = strspn(text, " \t"), n = strlen(text + start);
    while (n > 0 && (text[start + n - 1] == ' ' || text[start + n - 1] == '\t'))
        n--;
    if (n == 0)
        return rule_error(err, errlen, text, "empty rule");
    if (n >= sizeof buf)
        return rule_error(err, errlen, "...", "rule longer than 511 bytes");
    memcpy(buf, text + start, n);
    buf[n] = '\0';

    const char *why = NULL;
    char *host = NULL;
    int port = 0, rc;
    if (strstr(buf, "://")) {
        rc = -1, why = "write host:port, not a URL";
    } else if (strncmp(buf, UNIX_PREFIX, strlen(UNIX_PREFIX)) == 0) {
        rc = parse_unix_rule(buf, &host, &why);
    } else if (buf[0] == '[') {
        char v6[80];
        rc = parse_v6_rule(buf, v6, sizeof v6, &port, &why);
        if (rc == 0 && !(host = strdup(v6)))
            rc = -1, why = "out of memory";
    } else if (strcmp(buf, "*") == 0 || strncmp(buf, "*:", 2) == 0) {
        rc = -1, why = "a rule must name a host; '*' alone would allow "
                       "everything";
    } else {
        rc = parse_host_rule(buf, &host, &port, &why);
    }
    if (rc < 0)
        return rule_error(err, errlen, buf, why);
    out->host = host;
    out->port = port;
    return 0;
}

/* ---- matching ----------------------------------------------------------- */

/* Canonical form of a target host for comparison: lower case, no
 * trailing dot, IPv6 literals bracketed and canonical. */
static void canon_target(const char *host, char *out, size_t outlen)
{
    if (strncmp(host, UNIX_PREFIX, strlen(UNIX_PREFIX)) == 0) {
        size_t n = strlen(host);
        while (n > strlen(UNIX_PREFIX) + 1 && host[n - 1] == '/')
            n--;
        snprintf(out, outlen, "%.*s", (int)n, host);
        return;
    }
    char addr[128];
    snprintf(addr, sizeof addr, "%s", host);
    size_t n = strlen(addr);
    if (addr[0] == '[' && n > 2 && addr[n - 1] == ']') {
        memmove(addr, addr + 1, n - 2);
        addr[n - 2] = '\0';
    }
    struct in6_addr a6;
    if (strchr(addr, ':') && inet_pton(AF_INET6, addr, &a6) == 1) {
        char c[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &a6, c, sizeof c);
        snprintf(out, outlen, "[%s]", c);
        return;
    }
    char *l = lower_dup(host, strlen(host));
    snprintf(out, outlen, "%s", l ? l : host);
    free(l);
}

static bool host_matches(const char *rule, const char *target)
{
    if (strncmp(rule, UNIX_PREFIX, strlen(UNIX_PREFIX)) == 0)
        return strcmp(rule, target) == 0; /* paths are case-sensitive */
    if (strncmp(target, UNIX_PREFIX, strlen(UNIX_PREFIX)) == 0)
        return false;
    if (strncmp(rule, "*.", 2) == 0) {
        size_t sl = strlen(rule + 1), tl = strlen(target); /* ".suffix" */
        return tl > sl && strcasecmp(target + tl - sl, rule + 1) == 0;
    }
    return strcasecmp(rule, target) == 0;
}

/* Any thread; rules are read only. */
bool egress_allowed(const struct mf_egress_rule *rules, size_t n,
                    const char *host, int port)
{
    if (!host || !*host)
        return false;
    char target[300];
    canon_target(host, target, sizeof target);
    for (size_t i = 0; i < n; i++) {
        if (!rules[i].host)
            continue;
        if (rules[i].port != 0 && rules[i].port != port)
            continue;
        char rule[300];
        canon_target(rules[i].host, rule, sizeof rule);
        if (host_matches(rule, target))
            return true;
    }
    return false;
}

/* ---- URL targets -------------------------------------------------------- */

static int url_error(char *err, size_t errlen, const char *url, const char *why)
{
    if (err && errlen) {
        char safe[512], base[512];
        /* no query string: it often carries API keys */
        snprintf(base, sizeof base, "%.*s", url ? (int)strcspn(url, "?#") : 6,
                 url ? url : "(null)");
        log_redact(base, safe, sizeof safe);
        snprintf(err, errlen, "URL \"%s\": %s", safe, why);
    }
    return -1;
}

/* Parses with libcurl's URL API, so the host checked is the host curl
 * will connect to. */
int egress_url_target(const char *url, char *host, size_t hostlen, int *port,
                      char *err, size_t errlen)
{
    if (!url || !host || !port)
        return url_error(err, errlen, url, "no URL");
    CURLU *u = curl_url();
    if (!u)
        return url_error(err, errlen, url, "out of memory");
    char *h = NULL, *p = NULL;
    int rc = -1;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc != CURLUE_OK) {
        url_error(err, errlen, url, curl_url_strerror(uc));
    } else if (curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK || !*h) {
        url_error(err, errlen, url, "no host");
    } else if (curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) !=
               CURLUE_OK) {
        url_error(err, errlen, url, "no port and no default for its scheme");
    } else if (strlen(h) >= hostlen) {
        url_error(err, errlen, url, "host name too long");
    } else {
        snprintf(host, hostlen, "%s", h);
        *port = atoi(p);
        rc = 0;
    }
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
    return rc;
}

/* ---- DSN targets -------------------------------------------------------- */

struct dsn_parts {
    const char *host, *hostaddr, *port, *service;
};

static void dsn_read(PQconninfoOption *opts, struct dsn_parts *d)
{
    memset(d, 0, sizeof *d);
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (strcmp(o->keyword, "host") == 0)
            d->host = o->val;
        else if (strcmp(o->keyword, "hostaddr") == 0)
            d->hostaddr = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            d->port = o->val;
        else if (strcmp(o->keyword, "service") == 0)
            d->service = o->val;
    }
}

/* libpq falls back to the environment for what the DSN leaves out; the
 * check must see the same values libpq will use. */
static void dsn_env_defaults(struct dsn_parts *d)
{
    if (!d->host && !d->hostaddr) {
        d->host = getenv("PGHOST");
        d->hostaddr = getenv("PGHOSTADDR");
    }
    if (!d->port)
        d->port = getenv("PGPORT");
    if (!d->service)
        d->service = getenv("PGSERVICE");
}

/* The i-th element of a comma-separated list (empty string if missing). */
static void list_item(const char *list, int i, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!list)
        return;
    const char *p = list;
    for (int k = 0; k < i; k++) {
        p = strchr(p, ',');
        if (!p)
            return;
        p++;
    }
    size_t n = strcspn(p, ",");
    while (n > 0 && (*p == ' '))
        p++, n--;
    while (n > 0 && p[n - 1] == ' ')
        n--;
    snprintf(out, outlen, "%.*s", (int)n, p);
}

static int list_count(const char *list)
{
    if (!list || !*list)
        return 0;
    int n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    return n;
}

static int dsn_error(char *err, size_t errlen, const char *why)
{
    if (err && errlen) {
        char safe[512];
        log_redact(why, safe, sizeof safe);
        snprintf(err, errlen, "DSN: %s", safe);
    }
    return -1;
}

/* One host element to "name", "[v6]" or "unix:/dir". */
static void dsn_target_host(const char *h, char *out, size_t outlen)
{
    struct in6_addr a6;
    if (!*h)
        snprintf(out, outlen, UNIX_PREFIX "%s", PG_DEFAULT_SOCKET_DIR);
    else if (h[0] == '/' || h[0] == '@')
        snprintf(out, outlen, UNIX_PREFIX "%s", h);
    else if (strchr(h, ':') && inet_pton(AF_INET6, h, &a6) == 1)
        snprintf(out, outlen, "[%s]", h);
    else
        snprintf(out, outlen, "%s", h);
}

static int dsn_fill(const struct dsn_parts *d, char hosts[][256], int *ports,
                    int max, char *err, size_t errlen)
{
    const char *list = d->hostaddr ? d->hostaddr : d->host;
    int n = list_count(list);
    if (n == 0)
        n = 1; /* no host at all: the default socket directory */
    if (d->hostaddr && d->host && list_count(d->host) != n)
        return dsn_error(err, errlen,
                         "host and hostaddr lists differ in "
                         "length");
    int np = list_count(d->port);
    if (np > 1 && np != n) {
        char why[128];
        snprintf(why, sizeof why, "port list has %d entries for %d hosts", np,
                 n);
        return dsn_error(err, errlen, why);
    }
    if (n > max) {
        char why[128];
        snprintf(why, sizeof why, "%d hosts, at most %d supported", n, max);
        return dsn_error(err, errlen, why);
    }
    for (int i = 0; i < n; i++) {
        char h[256], p[32];
        list_item(d->hostaddr, i, h, sizeof h); /* what libpq connects to */
        if (!*h)
            list_item(d->host, i, h, sizeof h);
        list_item(d->port, np > 1 ? i : 0, p, sizeof p);
        dsn_target_host(h, hosts[i], sizeof hosts[i]);
        int port = PG_DEFAULT_PORT;
        if (*p && parse_port(p, &port) < 0) {
            char why[128];
            snprintf(why, sizeof why, "invalid port \"%.32s\"", p);
            return dsn_error(err, errlen, why);
        }
        ports[i] = strncmp(hosts[i], UNIX_PREFIX, 5) == 0 ? 0 : port;
    }
    return n;
}

/* Any thread.  Environment defaults (PGHOST, PGHOSTADDR, PGPORT) are
 * applied as libpq would; a pg_service.conf service is refused because
 * its hosts cannot be checked here. */
int egress_dsn_targets(const char *dsn, char hosts[][256], int *ports, int max,
                       char *err, size_t errlen)
{
    if (!dsn || !hosts || !ports || max <= 0)
        return dsn_error(err, errlen, "no DSN");
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &perr);
    if (!opts) {
        char why[512];
        snprintf(why, sizeof why, "%s", perr ? perr : "out of memory");
        why[strcspn(why, "\n")] = '\0';
        PQfreemem(perr);
        return dsn_error(err, errlen, why);
    }
    struct dsn_parts d;
    dsn_read(opts, &d);
    dsn_env_defaults(&d);
    int rc;
    if (d.service)
        rc = dsn_error(err, errlen,
                       "service= (pg_service.conf) is not "
                       "supported: its hosts cannot be "
                       "egress-checked");
    else
        rc = dsn_fill(&d, hosts, ports, max, err, errlen);
    PQconninfoFree(opts);
    return rc;
}
