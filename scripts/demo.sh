#!/usr/bin/env bash
# One command from a fresh Debian machine to a real run: installs what is
# missing, builds, starts a throwaway Postgres cluster in .demo/ (or reuses
# the one it made before), loads the demo database (a retail bank and a
# web shop, with PII and undeclared foreign keys), and runs
# `catalog-sync once` with manifests/local-postgres.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
echo "demo: built build/catalog-sync and $(ls build/passes/*.so | wc -l) passes"

scripts/pgcluster.sh start .demo/pg >/dev/null
port=$(cat .demo/pg/port)
admin="host=127.0.0.1 port=$port user=postgres dbname=postgres"
if ! psql "$admin" -tAc "select 1 from pg_database where datname='demo'" | grep -q 1; then
  echo "demo: loading the demo database (bank + shop)"
  psql "$admin" -qc "create database demo"
  psql "host=127.0.0.1 port=$port user=postgres dbname=demo" -q -v ON_ERROR_STOP=1 \
    -f scripts/demo-db.sql >/dev/null
fi
psql "$admin" -tAc "select 1 from pg_database where datname='catalog_sync'" | grep -q 1 \
  || psql "$admin" -qc "create database catalog_sync"

export CS_STATE_DSN="host=127.0.0.1 port=$port user=postgres dbname=catalog_sync"
export CS_DEMO_DSN="host=127.0.0.1 port=$port user=postgres dbname=demo"
export CS_DEMO_HOST=127.0.0.1 CS_DEMO_PORT=$port
export CS_PLUGIN_DIR="$PWD/build/passes"

build/catalog-sync check -m manifests/local-postgres.yaml
echo
build/catalog-sync once -m manifests/local-postgres.yaml --report .demo/report.json \
  --log-format text 2>.demo/once.log
echo
echo "What the run stored (catalog_sync.aspects): row counts, and the PII found"
psql "$CS_STATE_DSN" -P pager=off -c "
  select p.fqn as table,
         (p.value->>'rowCount')::bigint as rows,
         (select string_agg(c.key || '=' || (c.value->>'entity'), ', ' order by c.key)
            from jsonb_each(coalesce(x.value->'columns', '{}')) c
           where c.value->>'status' = 'tagged') as pii_columns
    from catalog_sync.aspects p
    left join catalog_sync.aspects x on x.fqn = p.fqn and x.aspect = 'pii'
   where p.aspect = 'profile' order by 1"
echo "Foreign keys found (none is declared in the demo database):"
psql "$CS_STATE_DSN" -At -c "
  select regexp_replace(a.fqn, '^[^.]+\.[^.]+\.', '') || '.' || (e->'fromColumns'->>0)
         || ' -> ' || regexp_replace(e->>'toTable', '^[^.]+\.[^.]+\.', '') || '.'
         || (e->'toColumns'->>0)
    from catalog_sync.aspects a, jsonb_array_elements(a.value->'edges') e
   where a.aspect = 'fk' and e->>'status' = 'confirmed' order by 1"
echo "Why a column was tagged, e.g. bank.accounts.iban:"
psql "$CS_STATE_DSN" -At -c "
  select value->'columns'->'iban'->>'reason' from catalog_sync.aspects
   where aspect = 'pii' and fqn like '%.bank.accounts'"
cat <<MSG
Logs: .demo/once.log   Report: .demo/report.json
Run it again: nothing changed, so nothing is processed.  To run the daemon
(HTTP API on 127.0.0.1:8089, a run every 6 hours, SIGHUP reloads):
  export CS_STATE_DSN="$CS_STATE_DSN"
  export CS_DEMO_DSN="$CS_DEMO_DSN" CS_DEMO_PORT=$port CS_PLUGIN_DIR="$CS_PLUGIN_DIR"
  build/catalog-sync run -m manifests/local-postgres.yaml
  curl -s 127.0.0.1:8089/v1/status
Stop the demo cluster: scripts/pgcluster.sh stop .demo/pg
MSG
