#include "pgtest.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int read_port(void)
{
    const char *dir = getenv("CS_TEST_PGDIR");
    char path[1024];
    int port = 0;
    if (!dir)
        return 0;
    snprintf(path, sizeof path, "%s/port", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    if (fscanf(f, "%d", &port) != 1)
        port = 0;
    fclose(f);
    return port;
}

static char *dsn_for(int port, const char *db)
{
    char buf[512];
    snprintf(buf, sizeof buf, "host=127.0.0.1 port=%d user=postgres dbname=%s",
             port, db);
    return strdup(buf);
}

char *pgtest_admin_dsn(void)
{
    int port = read_port();
    return port ? dsn_for(port, "postgres") : NULL;
}

char *pgtest_new_database(const char *prefix)
{
    static int counter;
    int port = read_port();
    if (!port)
        return NULL;
    char *admin = dsn_for(port, "postgres");
    PGconn *c = PQconnectdb(admin);
    free(admin);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pgtest: %s", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    char db[128], sql[256];
    snprintf(db, sizeof db, "%s_%d_%d", prefix, (int)getpid(), ++counter);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", db);
    PQclear(PQexec(c, sql));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "pgtest: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return ok ? dsn_for(port, db) : NULL;
}
