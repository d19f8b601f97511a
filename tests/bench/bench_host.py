"""Host overhead benchmark (not a test): entities/s through the Postgres job
queue with a no-op entity pass, master RSS when idle, and peak RSS of
master + worker during a 10,000-table run.  Run by scripts/bench.sh."""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import cslib as cs  # noqa: E402

N = int(os.environ.get("CS_BENCH_ENTITIES", "10000"))
THREADS = int(os.environ.get("CS_BENCH_THREADS", "4"))


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def main():
    wd = cs.Workdir("bench-host")
    src = os.path.join(wd.path, "bench_source.so")
    subprocess.run([os.path.join(cs.SRC, "tests/passes/build.sh"), cs.install_prefix(),
                    os.path.join(cs.SRC, "tests/passes/bench_source.c"), src], check=True)
    noop = os.path.join(wd.path, "noop.so")
    subprocess.run([os.path.join(cs.SRC, "tests/passes/build.sh"), cs.install_prefix(),
                    os.path.join(cs.SRC, "tests/passes/noop_pass.c"), noop], check=True)
    state = cs.new_db("bench_host")
    m = cs.manifest(state, state, [
        {"name": "source", "plugin": src, "kind": "source", "outputs": ["table"],
         "config": {"count": N}},
        {"name": "noop", "plugin": noop, "kind": "entity", "inputs": ["table"],
         "outputs": ["noop"]}], workers=THREADS)
    mpath = cs.write_manifest(wd.file("m.json"), m)
    d = cs.Daemon(mpath, wd.file("daemon.log"), ["--no-initial-run"])
    try:
        cs.wait_for(lambda: children(d.proc.pid), timeout=30, what="worker start")
        time.sleep(3)
        idle_master = rss_kib(d.proc.pid)
        cs.query(state, "insert into catalog_sync.runs(trigger, status) values ('bench', 'pending')")
        peak_master = peak_total = 0
        while cs.scalar(state, "select status from catalog_sync.runs order by id desc limit 1") != "completed":
            mr = rss_kib(d.proc.pid)
            total = mr + sum(rss_kib(c) for c in children(d.proc.pid))
            peak_master, peak_total = max(peak_master, mr), max(peak_total, total)
            time.sleep(0.05)
        first, last = cs.query(state, """select extract(epoch from min(started_at)),
                                                extract(epoch from max(finished_at))
                                           from catalog_sync.jobs""")[0]
        done = cs.scalar(state, "select count(*) from catalog_sync.jobs where status='done'")
    finally:
        d.stop()
        cs.query(cs.dsn("postgres"), f"DROP DATABASE IF EXISTS {cs.dsn_db(state)} WITH (FORCE)")
        shutil.rmtree(wd.path, ignore_errors=True)
    secs = float(last - first)
    print(f"entities: {done} (no-op pass, {THREADS} threads)")
    print(f"queue throughput: {done / secs:.0f} entities/s ({secs:.2f} s from first claim to last completion)")
    print(f"master RSS idle: {idle_master / 1024:.1f} MiB")
    print(f"peak RSS during the run: master {peak_master / 1024:.1f} MiB, master + worker {peak_total / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
