-- Tables for the profiling benchmark: bench.t0001 .. bench.tNNNN, with
-- 8 demo-style columns of mixed types.  Deterministic.
--   psql -v ON_ERROR_STOP=1 -v ntables=1000 -v nrows=200 -d demo \
--        -f scripts/bench-tables.sql
-- ntables defaults to 1000.  nrows is the row count of every table
-- (default 200), or `demo` for the sizes of the demo database's tables
-- in turn (8 to 20,000 rows, 4,600 on average).  Ends with ANALYZE.
\set ON_ERROR_STOP 1
\if :{?ntables}
\else
  \set ntables 1000
\endif
\if :{?nrows}
\else
  \set nrows 200
\endif
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
SET TIME ZONE 'UTC';
SELECT set_config('bench.ntables', :'ntables', false) AS ntables \gset
SELECT set_config('bench.nrows', :'nrows', false) AS nrows \gset
SELECT setseed(0.42) AS seeded \gset

DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;

DO $$
DECLARE
  n int := current_setting('bench.ntables')::int;
  demo_sizes int[] := ARRAY[4000, 40, 3500, 3000, 400, 20000, 8, 2500, 15000,
                            6000, 800, 2000, 5500, 60];
  nrows int;
  t text;
BEGIN
  FOR i IN 1..n LOOP
    t := format('t%s', lpad(i::text, 4, '0'));
    nrows := CASE current_setting('bench.nrows')
               WHEN 'demo' THEN demo_sizes[1 + (i - 1) % 14]
               ELSE current_setting('bench.nrows')::int END;
    EXECUTE format($f$
      CREATE TABLE bench.%I (
        id          integer PRIMARY KEY,
        code        varchar(12) NOT NULL,
        customer_id integer NOT NULL,
        amount      numeric(10,2),
        qty         smallint NOT NULL,
        email       text,
        active      boolean NOT NULL,
        created_at  timestamptz NOT NULL)$f$, t);
    EXECUTE format($f$
      INSERT INTO bench.%I
      SELECT g, 'C-' || lpad((g * 37 %% 100000)::text, 6, '0'),
             1 + floor(random() * 5000)::int,
             CASE WHEN g %% 10 = 0 THEN NULL ELSE round((random() * 1000)::numeric, 2) END,
             1 + floor(random() * 20)::int,
             CASE WHEN g %% 5 = 0 THEN NULL
                  ELSE (ARRAY['anna','louis','jonas','lucia','giulia','daan'])[1 + g %% 6]
                       || '.' || g || '@example.org' END,
             random() < 0.8,
             timestamptz '2023-01-01 00:00:00+00' + random() * interval '700 days'
      FROM generate_series(1, %s) g$f$, t, nrows);
  END LOOP;
END $$;

ANALYZE;
