"""LLM client throughput benchmark (not a test).

The real daemon (`catalog-sync once`) runs the describe pipeline
(discovery_postgres -> profile_postgres -> pii_tag -> mask -> describe_llm)
over N small tables; describe_llm makes one llm_chat call per table
against the fake OpenAI-compatible server (tests/fakes/openai.py), which
answers like a careful model (tests/fakes/catalog_answers.py) after a
fixed latency, so no answer is sent again to the fallback model.

  1. concurrency 16, fake latency 200 ms, no rate limit: the ceiling is
     16 / 0.2 s = 80 calls/s; target >= 0.9 of it.
  2. the same with rate_per_second 30 (burst = concurrency): the achieved
     rate, after the initial burst, must be within 5 % of 30/s.

Rates are measured from the arrival times the fake records: for (1) over
the window in which all 16 pool threads have a call going (each thread
keeps one connection), which is the client's steady state; for (2) after
the initial burst.  The end-to-end tables/s of each `once` is printed too:
it also holds start-up, discovery, and pool threads that begin claiming
at different times.  Pool threads claim entities 16 at a time, so the
table counts are multiples of 16 threads x 16.  Run by scripts/bench-llm.sh; needs the environment it
sets (the cluster, the binaries)."""
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))
import cslib as cs  # noqa: E402
from catalog_answers import catalog_answer  # noqa: E402
from openai import FakeLLM  # noqa: E402

CONCURRENCY = 16
LATENCY = 0.2
RATE = 30.0
TABLES = int(os.environ.get("CS_BENCH_LLM_TABLES", str(2 * CONCURRENCY * 16)))
RATE_TABLES = int(os.environ.get("CS_BENCH_LLM_RATE_TABLES", str(CONCURRENCY * 16)))


def make_source(n):
    src = cs.new_db("bench_llm_src")
    cs.query(src, f"""create schema b;
      do $$ begin for i in 1..{n} loop
        execute format('create table b.t%s (id int primary key, name text, amount numeric)', i);
        execute format('insert into b.t%s select g, ''item '' || g, g * 1.5 from generate_series(1, 5) g', i);
      end loop; end $$;""")
    return src


def manifest(wd, name, llm, src, endpoint):
    ep = {"url": llm.url, "chat_model": "bench-model", "fallback_model": "bench-large",
          "concurrency": CONCURRENCY, "timeout": "30s", "retries": 0}
    ep.update(endpoint)
    passes = [
        {"name": "discovery", "plugin": "discovery_postgres", "kind": "source",
         "outputs": ["table"], "config": {"connection": "demo", "schemas": ["b"], "full": True}},
        {"name": "profile", "plugin": "profile_postgres", "kind": "entity",
         "inputs": ["table"], "outputs": ["sample", "profile"]},
        {"name": "pii_tag", "plugin": "pii_tag", "kind": "entity",
         "inputs": ["table", "sample", "profile"], "outputs": ["pii"]},
        {"name": "mask", "plugin": "mask", "kind": "entity",
         "inputs": ["sample", "pii"], "outputs": ["sample_masked"]},
        {"name": "describe", "plugin": "describe_llm", "kind": "entity",
         "inputs": ["table", "profile", "sample_masked", "pii?"], "outputs": ["description"],
         "concurrency": CONCURRENCY},
    ]
    state = cs.new_db(f"bench_llm_state_{name}")
    m = cs.manifest(state, src, passes, workers=CONCURRENCY,
                    egress=[f"127.0.0.1:{cs.port()}", f"127.0.0.1:{llm.port}"],
                    llm={"endpoints": {"default": ep}})
    return cs.write_manifest(wd.file(f"{name}.json"), m), state


def run(wd, name, src, endpoint, latency):
    """(sorted chat arrival times, once seconds, entities done)."""
    llm = FakeLLM(latency=latency, answer=catalog_answer)
    llm.start()
    state = None
    try:
        path, state = manifest(wd, name, llm, src, endpoint)
        start = time.monotonic()
        p = cs.run_cli("once", "-m", path, "--no-progress", timeout=1800)
        secs = time.monotonic() - start
        if p.returncode != 0:
            raise AssertionError(f"once ({name}) exited {p.returncode}:\n{p.stderr[-3000:]}")
        done = cs.scalar(state, "select count(*) from catalog_sync.aspects where aspect = "
                                "'description' and value->>'model' = 'bench-model'")
        chats = [e for e in llm.log if e["path"].endswith("/chat/completions")]
        return chats, secs, done, llm.max_in_flight
    finally:
        llm.stop()
        if state:
            cs.query(cs.dsn("postgres"), f"DROP DATABASE IF EXISTS {cs.dsn_db(state)} WITH (FORCE)")


def verdict(ok):
    return "met" if ok else "MISSED"


def concurrency_bound(wd, src):
    limit = CONCURRENCY / LATENCY
    chats, secs, done, peak = run(wd, "conc", src, {}, LATENCY)
    times = sorted(e["t"] for e in chats)
    per_conn = {}
    for e in chats:
        per_conn.setdefault(e["peer"], []).append(e["t"])
    lo = max(min(t) for t in per_conn.values())
    hi = min(max(t) for t in per_conn.values())
    inside = [t for t in times if lo <= t < hi]
    rate = len(inside) / (hi - lo) if hi > lo else 0.0
    overall = len(times) / (times[-1] + LATENCY - times[0])
    print(f"== concurrency {CONCURRENCY}, fake latency {LATENCY * 1000:.0f} ms, no rate limit "
          f"(limit {limit:.0f} calls/s)")
    print(f"tables: {TABLES}, described by the first model: {done}, chat calls: {len(times)}, max in flight at the fake: {peak}")
    print(f"achieved with all {len(per_conn)} connections busy ({hi - lo:.1f} s of "
          f"{times[-1] - times[0]:.1f} s): {rate:.1f} tables/s = {rate / limit:.3f} of the limit "
          f"(target >= 0.9: {verdict(rate >= 0.9 * limit)})")
    print(f"from the first call to the last answer: {overall:.1f} calls/s = "
          f"{overall / limit:.3f} of the limit")
    print(f"end to end: {secs:.1f} s for `once`, {done / secs:.1f} tables/s")
    return rate >= 0.9 * limit


def rate_bound(wd, src):
    chats, secs, done, peak = run(wd, "rate", src, {"rate_per_second": RATE}, LATENCY)
    times = sorted(e["t"] for e in chats)
    burst = CONCURRENCY
    # After the burst, call k starts (k - burst + 1) / RATE after the first.
    steady = (len(times) - burst) / (times[-1] - times[burst - 1])
    err = abs(steady - RATE) / RATE
    print(f"== concurrency {CONCURRENCY}, fake latency {LATENCY * 1000:.0f} ms, "
          f"rate_per_second {RATE:.0f} (burst {burst})")
    print(f"tables: {RATE_TABLES}, described by the first model: {done}, chat calls: {len(times)}, max in flight at the fake: {peak}")
    print(f"achieved after the burst: {steady:.2f} calls/s, {err * 100:.1f} % from the limit "
          f"(target within 5 %: {verdict(err <= 0.05)})")
    print(f"end to end: {secs:.1f} s for `once`, {done / secs:.1f} tables/s")
    return err <= 0.05


def main():
    cs.port()  # skips without a cluster
    wd = cs.Workdir("bench-llm")
    ok = True
    src = make_source(TABLES)
    try:
        ok = concurrency_bound(wd, src) and ok
    finally:
        cs.query(cs.dsn("postgres"), f"DROP DATABASE IF EXISTS {cs.dsn_db(src)} WITH (FORCE)")
    print()
    src = make_source(RATE_TABLES)
    try:
        ok = rate_bound(wd, src) and ok
    finally:
        cs.query(cs.dsn("postgres"), f"DROP DATABASE IF EXISTS {cs.dsn_db(src)} WITH (FORCE)")
    shutil.rmtree(wd.path, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
