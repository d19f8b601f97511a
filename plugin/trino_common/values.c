/*
 * Trino's JSON encoding of values and errors, turned into text.
 *
 * Cells: profile_common reads cells as the text an engine prints (it
 * parses numbers with strtod and orders ISO dates bytewise), and Trino
 * already sends decimals, dates, times and timestamps as strings in that
 * form; only JSON numbers and booleans need printing.
 */
#include "trino.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The shortest %g form that reads back as the same double, as Postgres
 * prints float8 (extra_float_digits = 1). */
static void print_real(double d, char *buf, size_t len)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

/* See trino.h. */
int trino_cell_text(const json_t *v, char **out)
{
    char buf[64];
    *out = NULL;
    switch (json_typeof(v)) {
    case JSON_NULL:
        return 0;
    case JSON_STRING:
        *out = strndup(json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        *out = strdup(buf);
        break;
    case JSON_REAL:
        print_real(json_real_value(v), buf, sizeof buf);
        *out = strdup(buf);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        *out = strdup(json_is_true(v) ? "true" : "false");
        break;
    default: /* ARRAY, MAP and ROW values */
        *out = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        break;
    }
    return *out ? 0 : -1;
}

/* Errors whose message quotes only names or our own SQL text, never a
 * value read from a table. */
static bool names_only(const char *name)
{
    static const char *const exact[] = {
        "SYNTAX_ERROR",        "MISSING_CATALOG_NAME", "MISSING_SCHEMA_NAME",
        "MISSING_COLUMN_NAME", "AMBIGUOUS_NAME",       "PERMISSION_DENIED",
        "USER_CANCELED",       "EXCEEDED_TIME_LIMIT",  NULL};
    size_t n = strlen(name), suffix = strlen("_NOT_FOUND");
    if (n > suffix && strcmp(name + n - suffix, "_NOT_FOUND") == 0)
        return true;
    for (int i = 0; exact[i]; i++)
        if (strcmp(name, exact[i]) == 0)
            return true;
    return false;
}

/* Copies msg into buf with every '...' or "..." replaced by '…'. */
static void redact_quotes(const char *msg, char *buf, size_t len)
{
    size_t o = 0;
    for (const char *p = msg; *p && o + 6 < len; p++) {
        const char *close = (*p == '\'' || *p == '"') ? strchr(p + 1, *p) : 0;
        if (!close) {
            buf[o++] = *p;
            continue;
        }
        o += (size_t)snprintf(buf + o, len - o, "%c\xe2\x80\xa6%c", *p, *p);
        p = close;
    }
    buf[o < len ? o : len - 1] = '\0';
}

/* See trino.h. */
void trino_error_message(const json_t *error, char *buf, size_t len)
{
    const char *name = json_string_value(json_object_get(error, "errorName"));
    const char *msg = json_string_value(json_object_get(error, "message"));
    char text[384];
    if (!name || !*name)
        name = "UNKNOWN_ERROR";
    if (!msg)
        msg = "(no message)";
    if (names_only(name))
        snprintf(text, sizeof text, "%s", msg);
    else
        redact_quotes(msg, text, sizeof text);
    snprintf(buf, len, "%s: %s", name, text);
}
