/* Test helper: fresh databases in the throwaway cluster started by the
 * ctest fixture `pg` (scripts/pgcluster.sh, directory $CS_TEST_PGDIR). */
#ifndef TESTS_PGTEST_H
#define TESTS_PGTEST_H

/* Creates an empty database named <prefix>_<pid>_<n> and returns its DSN
 * (malloc'd), or NULL when no cluster is running (the caller skips). */
char *pgtest_new_database(const char *prefix);
/* DSN of the cluster's `postgres` database (malloc'd) or NULL. */
char *pgtest_admin_dsn(void);

#endif
