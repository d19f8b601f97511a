"""Foreign-key discovery accuracy benchmark (not a test): precision and
recall of the fingerprint + fk_discover passes against the declared
foreign keys of Pagila, Chinook and Northwind ($CS_SHARED_DIR/datasets,
default ../shared next to the source tree).

Per dataset: load it into a fresh database, read its declared foreign keys
from pg_catalog (the ground truth, tests/fk/fkeval.py), drop them all, then
`catalog-sync once` with discovery_postgres, profile_postgres
(sample_percent 100, sample_rows 1000), fingerprint and fk_discover over a
fresh state store; the `fk` aspects are scored against the ground truth.
Every miss, false positive and real-but-undeclared link is listed with the
pass's own evidence and reason, and so are the role-named keys.  Two
baselines computed by SQL on the same data give context: "contained in a
unique column" and name matching.  A dataset that is absent is skipped
with a message.

Run by scripts/bench-fk.sh; needs the environment it sets (the cluster,
the binaries).  CS_BENCH_FK_CONFIG may hold a JSON object merged into
fk_discover's config; CS_BENCH_FK_DATASETS a comma-separated subset."""
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "fk"))
import cslib as cs  # noqa: E402
import fkeval  # noqa: E402

SAMPLE_PERCENT = 100
SAMPLE_ROWS = 1000
WORKERS = int(os.environ.get("CS_BENCH_THREADS", "4"))
SHARED = os.environ.get("CS_SHARED_DIR") or os.path.join(cs.SRC, "..", "shared")
# CS_BENCH_FK_ANALYZE=0: measure on never-analyzed tables (the profile
# then knows no row counts); default: ANALYZE after loading.
ANALYZE = os.environ.get("CS_BENCH_FK_ANALYZE", "1") != "0"
RECALL_TARGET = 0.95
PRECISION_TARGET = 0.9


def fk_passes(extra_config=None):
    """The manifest entries of the two FK passes."""
    fk = {"name": "fk_discover", "plugin": "fk_discover", "kind": "batch",
          "inputs": ["fingerprint"], "outputs": ["fk"]}
    if extra_config:
        fk["config"] = dict(extra_config)
    return [{"name": "fingerprint", "plugin": "fingerprint", "kind": "entity",
             "inputs": ["table", "sample", "profile"], "outputs": ["fingerprint"]}, fk]


def passes(schemas):
    cfg = json.loads(os.environ.get("CS_BENCH_FK_CONFIG") or "{}")
    p = cs.demo_passes(schemas=schemas, sample_percent=SAMPLE_PERCENT, extra=fk_passes(cfg))
    p[1]["config"]["sample_rows"] = SAMPLE_ROWS
    return p


def drop(d):
    cs.query(cs.dsn("postgres"), f"DROP DATABASE IF EXISTS {cs.dsn_db(d)} WITH (FORCE)")


def run_once(wd, name, source, schemas):
    """One `once` with a fresh state store; returns (fk edges,
    fingerprints, tables profiled, seconds)."""
    state = cs.new_db(f"bench_fk_state_{name}")
    try:
        mpath = cs.write_manifest(wd.file(f"{name}.json"),
                                  cs.manifest(state, source, passes(schemas), workers=WORKERS))
        start = time.monotonic()
        p = cs.run_cli("once", "-m", mpath, "--log-format", "text", "--no-progress", timeout=1800)
        secs = time.monotonic() - start
        if p.returncode != 0:
            raise AssertionError(f"catalog-sync once ({name}) exited {p.returncode}:\n{p.stderr[-3000:]}")
        failed = cs.query(state, "SELECT fqn, last_error FROM catalog_sync.jobs WHERE status = 'failed' LIMIT 5")
        if failed:
            raise AssertionError(f"failed jobs in the {name} run, e.g. {failed}")
        tables = cs.scalar(state, "SELECT count(*) FROM catalog_sync.aspects WHERE aspect = 'profile'")
        return (fkeval.read_edges(cs.query, state), fkeval.read_fingerprints(cs.query, state),
                tables, secs)
    finally:
        drop(state)


def baselines(source, schema, truth, accepted, out=print):
    start = time.monotonic()
    pred, pairs = fkeval.naive_contained(cs.query, source, schema)
    p, r, rf, rt = fkeval.score_baseline(pred, truth, accepted)
    out(f"  baseline \"contained in a unique column\" ({pairs} same-type pairs checked by SQL, "
        f"{time.monotonic() - start:.1f} s): {len(pred)} edges, precision {p:.3f}, recall {r:.3f}, "
        f"role-named {rf} of {rt}")
    nm = fkeval.name_match(cs.query, source, schema)
    p2, r2, rf2, rt2 = fkeval.score_baseline(nm, truth, accepted)
    out(f"  baseline \"name matching\": {len(nm)} edges, precision {p2:.3f}, recall {r2:.3f}, "
        f"role-named {rf2} of {rt2}")
    return {"contained": (len(pred), p, r), "names": (len(nm), p2, r2, rf2, rt2)}


def dataset(wd, name, spec):
    files, missing = fkeval.dataset_files(SHARED, spec)
    if missing:
        print(f"{name}: SKIPPED, not found: {', '.join(missing)}")
        return None
    schema = spec["schema"]
    source = cs.new_db(f"bench_fk_{name}")
    try:
        fkeval.load_dataset(cs, wd, source, spec, files, analyze=ANALYZE)
        every, truth = fkeval.declared(cs.query, source, schema)
        empty = {e: n for e, n in every.items() if e not in truth}
        constraints = sum(len(n) for n in every.values())
        dropped = fkeval.drop_foreign_keys(cs.query, source, schema)
        edges, fps, tables, secs = run_once(wd, name, source, [schema])
        print(f"{name}: {tables} tables; {constraints} FK constraints declared ({len(every)} links once "
              f"partitions are folded into their table), {dropped} dropped before the run; once: {secs:.1f} s")
        res = fkeval.evaluate(name, cs.query, source, truth, empty, edges, spec.get("undeclared", {}))
        fkeval.report(res, fps=fps)
        base = baselines(source, schema, truth, spec.get("undeclared", {}))
    finally:
        drop(source)
    return res, base


def targets(results):
    rows = []
    for name, (res, _) in results.items():
        c = res.counts()
        rows.append((f"{name} recall >= {RECALL_TARGET} (got {c['recall']:.3f})", c["recall"] >= RECALL_TARGET))
        rows.append((f"{name} precision >= {PRECISION_TARGET} (got {c['precision']:.3f})",
                     c["precision"] >= PRECISION_TARGET))
    roles = [(n, e, ok) for n, (res, _) in results.items() for e, ok in res.role_named()]
    rows.append((f"role-named FKs found: {sum(ok for _, _, ok in roles)} of {len(roles)}",
                 all(ok for _, _, ok in roles)))
    for text, ok in rows:
        print(f"  target {text}: {'met' if ok else 'MISSED'}")
    return rows


def summary(results):
    print(f"  {'dataset':<10} {'declared':>8} {'emitted':>7} {'found':>5} {'undecl':>6} {'FP':>3} "
          f"{'miss':>4} {'precision':>9} {'strict':>6} {'recall':>6} {'F1':>6} {'naive P':>7} {'names R':>7}")
    for name, (res, base) in results.items():
        c = res.counts()
        print(f"  {name:<10} {c['declared']:>8} {c['emitted']:>7} {c['found']:>5} {c['undeclared']:>6} "
              f"{c['false_pos']:>3} {c['misses']:>4} {c['precision']:>9.3f} {c['strict']:>6.3f} "
              f"{c['recall']:>6.3f} {c['f1']:>6.3f} {base['contained'][1]:>7.3f} {base['names'][2]:>7.3f}")


def main():
    cs.port()  # skips without a cluster
    for so in ("fingerprint.so", "fk_discover.so"):
        if not os.path.exists(os.path.join(cs.PASS_DIR, so)):
            cs.skip(f"{os.path.join(cs.PASS_DIR, so)} is not built: nothing to measure")
    wanted = [d for d in os.environ.get("CS_BENCH_FK_DATASETS", "").split(",") if d]
    wd = cs.Workdir("bench-fk")
    results = {}
    try:
        for name, spec in fkeval.datasets().items():
            if wanted and name not in wanted:
                continue
            print(f"== FK discovery: {name} (ground truth: its declared foreign keys, dropped before the run; "
                  f"tables {'ANALYZEd' if ANALYZE else 'never analyzed'})")
            r = dataset(wd, name, spec)
            if r:
                results[name] = r
            print()
    finally:
        shutil.rmtree(wd.path, ignore_errors=True)
    if not results:
        print(f"no dataset found under {SHARED}/datasets: nothing measured (set CS_SHARED_DIR)")
        return
    print("== FK discovery: summary (precision counts verified undeclared links as right; strict does not)")
    summary(results)
    targets(results)


if __name__ == "__main__":
    main()
