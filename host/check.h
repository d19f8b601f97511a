/*
 * `catalog-sync check`: validates a manifest, prints the plan, and with
 * --load loads every plugin in a child process (so a plugin that crashes
 * while loading cannot take the checker down) and checks its ABI,
 * declarations and config.
 */
#ifndef HOST_CHECK_H
#define HOST_CHECK_H

#include <stdbool.h>

/* Returns the exit status: 0 valid, 1 invalid. */
int check_main(const char *manifest_path, bool json, bool load);

#endif
