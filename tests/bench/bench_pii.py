"""PII tagging accuracy benchmark (not a test): column-level precision and
recall of the pii_tag pass against ground truth.

  1. The labeled corpus of tests/pii/gen_corpus.py (eight locales, tricky
     negatives, sparse columns) is loaded into a fresh database, then
     `catalog-sync once` runs discovery_postgres + profile_postgres
     (sample_percent 100, sample_rows 1000) + pii_tag over it, and the
     `pii` aspects in the state store are scored against
     tests/pii/corpus_labels.json.
  2. The same for each of Pagila, Chinook and Northwind found under
     $CS_SHARED_DIR/datasets (default ../shared next to the source tree),
     against the hand-written tests/pii/shared_labels.json; a dataset that
     is absent is skipped with a message.

Every miss and false positive is listed by column with the pass's own
reason.  Run by scripts/bench-pii.sh; needs the environment it sets (the
cluster, the binaries)."""
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "pii"))
import cslib as cs  # noqa: E402
import gen_corpus  # noqa: E402
import piieval  # noqa: E402

SAMPLE_PERCENT = 100
SAMPLE_ROWS = 1000
WORKERS = int(os.environ.get("CS_BENCH_THREADS", "4"))
SHARED = os.environ.get("CS_SHARED_DIR") or os.path.join(cs.SRC, "..", "shared")

PII_PASS = {"name": "pii_tag", "plugin": "pii_tag", "kind": "entity",
            "inputs": ["table", "sample", "profile", "pii_llm?"], "outputs": ["pii"]}


def passes(schemas):
    p = cs.demo_passes(schemas=schemas, sample_percent=SAMPLE_PERCENT, extra=[dict(PII_PASS)])
    p[1]["config"]["sample_rows"] = SAMPLE_ROWS
    return p


def run_once(wd, name, source, schemas):
    """One `once` with a fresh state store; returns (pii aspects, profile
    aspects, seconds)."""
    state = cs.new_db(f"bench_pii_state_{name}")
    try:
        mpath = cs.write_manifest(wd.file(f"{name}.json"),
                                  cs.manifest(state, source, passes(schemas), workers=WORKERS))
        start = time.monotonic()
        p = cs.run_cli("once", "-m", mpath, "--log-format", "text", "--no-progress", timeout=1800)
        secs = time.monotonic() - start
        if p.returncode != 0:
            raise AssertionError(f"catalog-sync once ({name}) exited {p.returncode}:\n{p.stderr[-3000:]}")
        failed = cs.scalar(state, "select count(*) from catalog_sync.jobs where status = 'failed'")
        if failed:
            errs = cs.query(state, "select fqn, last_error from catalog_sync.jobs where status = 'failed' limit 5")
            raise AssertionError(f"{failed} jobs failed in the {name} run, e.g. {errs}")
        return (piieval.read_aspects(cs.query, state, "pii"),
                piieval.read_aspects(cs.query, state, "profile"), secs)
    finally:
        drop(state)


def drop(d):
    cs.query(cs.dsn("postgres"), f"DROP DATABASE IF EXISTS {cs.dsn_db(d)} WITH (FORCE)")


def check_pass():
    so = os.path.join(cs.PASS_DIR, "pii_tag.so")
    if not os.path.exists(so):
        cs.skip(f"{so} is not built: nothing to measure")


def corpus(wd):
    sql = wd.file("corpus.sql")
    text, labels = gen_corpus.generate()
    with open(sql, "w", encoding="utf-8") as f:
        f.write(text)
    committed = piieval.corpus_labels()
    if committed != labels:
        raise AssertionError("tests/pii/corpus_labels.json is stale: run tests/pii/gen_corpus.py --sql /dev/null")
    source = cs.new_db("bench_pii_corpus")
    try:
        cs.psql_file(source, sql)
        schemas = gen_corpus.schemas()
        pii, _, secs = run_once(wd, "corpus", source, schemas)
    finally:
        drop(source)
    tables = len({k.rsplit(".", 1)[0] for k in labels})
    res = piieval.evaluate(labels, pii)
    print(f"corpus: {len(schemas)} schemas ({', '.join(gen_corpus.LOCALES)} + {gen_corpus.TRICKY_SCHEMA}), "
          f"{tables} tables, {gen_corpus.DEFAULT_ROWS} rows each ({gen_corpus.SPARSE_ROWS} in the sparse table); "
          f"once: {secs:.1f} s with {WORKERS} workers")
    piieval.report(res, "corpus")
    piieval.targets(res)
    return res


def shared(wd, name, spec):
    files = [os.path.join(SHARED, "datasets", f) for f in spec["files"]]
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        print(f"{name}: SKIPPED, not found: {', '.join(missing)}")
        return None
    source = cs.new_db(f"bench_pii_{name}")
    try:
        for f in files:
            if spec.get("strip"):
                stripped = wd.file(os.path.basename(f))
                with open(stripped, "w", encoding="utf-8") as out:
                    out.write(piieval.strip_lines(f, spec["strip"]))
                f = stripped
            cs.psql_file(source, f)
        pii, profiles, secs = run_once(wd, name, source, [spec["schema"]])
    finally:
        drop(source)
    labels = piieval.shared_labels(spec, piieval.table_columns(profiles))
    print(f"{name}: {len(profiles)} tables; once: {secs:.1f} s")
    res = piieval.evaluate(labels, pii)
    piieval.report(res, name)
    tp, fp, fn, p, r, f1 = res.prf()
    print(f"  {name} overall: precision {p:.3f}, recall {r:.3f}, F1 {f1:.3f}")
    return res


def main():
    cs.port()  # skips without a cluster
    check_pass()
    wd = cs.Workdir("bench-pii")
    try:
        print("== PII tagging: labeled corpus (tests/pii/gen_corpus.py)")
        corpus(wd)
        specs = piieval.load_json("shared_labels.json")["datasets"]
        for name, spec in specs.items():
            print()
            print(f"== PII tagging: {name} (hand labels in tests/pii/shared_labels.json)")
            shared(wd, name, spec)
    finally:
        shutil.rmtree(wd.path, ignore_errors=True)


if __name__ == "__main__":
    main()
