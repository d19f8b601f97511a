"""Shared helpers for catalog-sync integration tests.

Each test is a plain script run by ctest with the environment set in
tests/CMakeLists.txt.  It starts the real daemon against the throwaway
Postgres cluster of the `pg` fixture, in a database of its own, and checks
what reached Postgres.  Exit 77 means skipped (with the reason printed).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

import psycopg2

BIN = os.environ.get("CS_BIN", "")
PASS_DIR = os.environ.get("CS_PASS_DIR", "")
SRC = os.environ.get("CS_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("CS_BUILD_DIR", "")
PGDIR = os.environ.get("CS_TEST_PGDIR", "")

# Values planted in the demo database (scripts/demo-db.sql) that must never
# appear in a log line, a report or the state store.
PLANTED = [
    "planted.canary.7731@example.org",
    "+33 6 12 34 56 78",
    "4539148803436467",
    "FR7630006000011234567890189",
]


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(77)


def port():
    try:
        with open(os.path.join(PGDIR, "port")) as f:
            return int(f.read().strip())
    except OSError:
        skip(f"no throwaway Postgres cluster in {PGDIR!r} (run through ctest)")


def dsn(db):
    return f"host=127.0.0.1 port={port()} user=postgres dbname={db}"


def new_db(prefix):
    """Creates an empty database and returns its DSN."""
    name = f"{prefix}_{os.getpid()}_{int(time.time() * 1000) % 100000}"
    conn = psycopg2.connect(dsn("postgres"))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    return dsn(name)


def psql_file(target_dsn, path, variables=None):
    args = ["psql", target_dsn, "-q", "-v", "ON_ERROR_STOP=1", "-f", path]
    for k, v in (variables or {}).items():
        args += ["-v", f"{k}={v}"]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def load_demo(target_dsn):
    psql_file(target_dsn, os.path.join(SRC, "scripts", "demo-db.sql"))


def query(target_dsn, sql, params=None):
    conn = psycopg2.connect(target_dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def scalar(target_dsn, sql, params=None):
    rows = query(target_dsn, sql, params)
    return rows[0][0] if rows else None


class Workdir:
    """A temporary directory removed at exit unless the test failed."""

    def __init__(self, name):
        self.path = tempfile.mkdtemp(prefix=f"cs-{name}-")

    def file(self, name):
        return os.path.join(self.path, name)


def manifest(state_dsn, source_dsn, passes, **top):
    """A manifest as a dict (written as JSON, which the parser accepts)."""
    m = {
        "state": state_dsn,
        "connections": {"demo": {"dsn": source_dsn, "statement_timeout": "30s"}},
        "egress": [f"127.0.0.1:{port()}"],
        "workers": 2,
        "plugin_dir": PASS_DIR,
        "limits": {"lease_seconds": 10, "max_attempts": 3,
                   "drain_timeout": "30s", "shutdown_timeout": "30s"},
        "passes": passes,
    }
    m.update(top)
    return m


def demo_passes(schemas=("bank", "shop"), sample_percent=100, extra=()):
    return [
        {"name": "discovery", "plugin": "discovery_postgres", "kind": "source",
         "outputs": ["table"],
         "config": {"connection": "demo", "service": "demo", "schemas": list(schemas)}},
        {"name": "profile", "plugin": "profile_postgres", "kind": "entity",
         "inputs": ["table"], "outputs": ["sample", "profile"],
         "config": {"sample_percent": sample_percent, "sample_rows": 100000}},
        *extra,
    ]


def write_manifest(path, m):
    with open(path, "w") as f:
        json.dump(m, f, indent=2)
    return path


def run_cli(*args, timeout=300, env=None, check=False):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([BIN, *args], capture_output=True, text=True,
                       timeout=timeout, env=e)
    if check and p.returncode != 0:
        raise AssertionError(f"catalog-sync {' '.join(args)} exited {p.returncode}:\n{p.stderr}")
    return p


_prefix = None


def install_prefix():
    """`cmake --install` of the build tree into a temporary prefix (once)."""
    global _prefix
    if _prefix is None:
        _prefix = tempfile.mkdtemp(prefix="cs-prefix-")
        subprocess.run(["cmake", "--install", BUILD, "--prefix", _prefix],
                       check=True, stdout=subprocess.DEVNULL)
    return _prefix


def build_test_pass(out_path, *cflags):
    """Builds tests/passes/test_pass.c out of tree through pkg-config."""
    subprocess.run([os.path.join(SRC, "tests", "passes", "build.sh"),
                    install_prefix(), os.path.join(SRC, "tests", "passes", "test_pass.c"),
                    out_path, *cflags], check=True)
    return out_path


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Daemon:
    """`catalog-sync run` in the background, logs to a file."""

    def __init__(self, manifest_path, log_path, args=()):
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen([BIN, "run", "-m", manifest_path, *args],
                                     stdout=self.log, stderr=self.log)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=60):
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("daemon did not exit within %ds of SIGTERM" % timeout)
        return self.proc.returncode

    def logs(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


def http(method, url, token=None, body=None, timeout=10):
    """Returns (status, parsed JSON or text)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, status, ctype = r.read().decode(), r.status, r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        raw, status, ctype = e.read().decode(), e.code, e.headers.get("Content-Type", "")
    return status, (json.loads(raw) if "json" in ctype and raw else raw)


def wait_for(pred, timeout=60, interval=0.2, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # the daemon may not be up yet
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def main(tests):
    """Runs test functions, prints one line each and the closing tally."""
    passed = failed = 0
    for t in tests:
        start = time.time()
        try:
            t()
            passed += 1
            print(f"ok   {t.__name__} ({time.time() - start:.1f}s)", flush=True)
        except SystemExit:
            raise
        except Exception:
            failed += 1
            print(f"FAIL {t.__name__}", flush=True)
            traceback.print_exc()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def dsn_db(d):
    """The database name of a DSN made by dsn()."""
    return d.rsplit("dbname=", 1)[1].split()[0]
