/* The per-table definition hash kept as the discovery watermark. */
#include "discovery.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* Canonical text = sorted keys, compact, so the hash depends only on the
 * definition, never on insertion order.  FNV-1a 64 is enough: the hash
 * detects change, it does not authenticate anything. */
int disc_definition_hash(const json_t *table, char out[17])
{
    char *text = json_dumps(table, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return -1;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    free(text);
    snprintf(out, 17, "%016" PRIx64, h);
    return 0;
}
