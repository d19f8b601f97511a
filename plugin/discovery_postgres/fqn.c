/* OpenMetadata fully qualified names. */
#include "discovery.h"

#include <stdlib.h>
#include <string.h>

/* OpenMetadata splits FQNs on '.', so a name holding a '.' is wrapped in
 * double quotes; an embedded quote is doubled to stay unambiguous. */
static char *quote_name(const char *name)
{
    if (strpbrk(name, ".\"") == NULL)
        return strdup(name);
    size_t n = strlen(name);
    char *q = malloc(2 * n + 3);
    if (!q)
        return NULL;
    size_t o = 0;
    q[o++] = '"';
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            q[o++] = '"';
        q[o++] = *p;
    }
    q[o++] = '"';
    q[o] = '\0';
    return q;
}

char *disc_fqn_join(const char *prefix, const char *name)
{
    char *q = quote_name(name ? name : "");
    if (!q || !prefix)
        return q;
    size_t a = strlen(prefix), b = strlen(q);
    char *out = malloc(a + b + 2);
    if (out) {
        memcpy(out, prefix, a);
        out[a] = '.';
        memcpy(out + a + 1, q, b + 1);
    }
    free(q);
    return out;
}
