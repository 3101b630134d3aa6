"""
Fixtures for the API tests: the real `shopkeeper serve` on a free loopback
port with a fresh SQLite database, and helpers that talk HTTP to it.

The binary comes from SHOPKEEPER_BIN (default build/shopkeeper in the repo).
Every server started here is stopped with SIGTERM and must exit with code 0;
its stderr must hold no sanitizer report and no token or password used
against it. Fixtures:

  server          one server per test module (fresh db, bootstrap operator)
  server_factory  more servers inside one test (own db or a given one, extra
                  flags), stopped and checked at the end of the test
  cli             runs `shopkeeper ...` subcommands against a separate temp db
  routes          the route table from `shopkeeper routes`

Both engines: with SHOPKEEPER_TEST_ENGINE=postgresql (inside
scripts/with-pg.sh, which exports PGHOST and the rest) each database path a
test names stands for a PostgreSQL database of its own, made on first use
(db_args, connect), with its key store database beside it and a master key
file where SQLite's would be generated. Tests of what only a SQLite file
has (its bytes on disk, the WAL, the key store file) are marked
`sqlite_only` and skipped there.
"""
import hashlib
import itertools
import json
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import requests

import openapi_check

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("SHOPKEEPER_BIN") or str(REPO / "build" / "shopkeeper")

# Markers of a sanitizer report in a process's stderr.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")

PROBLEM_TYPE = "application/problem+json"
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
HTTP_TIMEOUT = 20

_counter = itertools.count(1)

ENGINE = os.environ.get("SHOPKEEPER_TEST_ENGINE", "sqlite")
PG = ENGINE == "postgresql"
sqlite_only = pytest.mark.skipif(PG, reason="about the SQLite file itself")
_pg_made = set()
_pg_run = secrets.token_hex(4)  # pytest reuses its temporary paths across runs


def pg_dbname(path):
    """The PostgreSQL database that stands for the SQLite path `path`."""
    h = hashlib.sha256(f"{_pg_run}:{Path(path).resolve()}".encode()).hexdigest()[:20]
    return "sk_" + h


def _pg_admin(sql):
    import psycopg2
    con = psycopg2.connect(dbname="postgres")
    con.autocommit = True
    try:
        con.cursor().execute(sql)
    finally:
        con.close()


def pg_ensure(path):
    """Makes the database for path and its key store (once), and the master
    key file beside path, as SQLite's first run would; returns the name."""
    if "=" in str(path):
        raise ValueError(f"{path}: a path stands for a database, not a connection string")
    name = pg_dbname(path)
    if name not in _pg_made:
        import psycopg2
        for n in (name, name + "_keys"):
            try:
                _pg_admin(f'CREATE DATABASE "{n}"')
            except psycopg2.errors.DuplicateDatabase:
                pass
        _pg_made.add(name)
    key = Path(path).parent / "master.key"
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_text(secrets.token_hex(32) + "\n")
        key.chmod(0o600)
    return name


def pg_env():
    """The libpq variables (PGHOST, PGPORT, ...) a child needs to reach the
    server under test; none on SQLite."""
    return {k: v for k, v in os.environ.items() if PG and k.startswith("PG")}


def db_args(path):
    """`--db ...` for a subcommand on the database at path, on the engine
    under test (PostgreSQL: the database standing for it, and its key)."""
    if not PG:
        return ["--db", str(path)]
    name = pg_ensure(path)
    return ["--db", f"dbname={name}", "--master-key", str(Path(path).parent / "master.key")]


class _PgConnection:
    """A psycopg2 connection that answers like the sqlite3 connections the
    tests were written for: execute() takes `?` placeholders, bytea comes
    back as bytes, and commit(), close() and `with` work as sqlite3's do."""

    def __init__(self, name, autocommit):
        import psycopg2
        self.con = psycopg2.connect(dbname=name)
        self.con.autocommit = autocommit

    def execute(self, sql, params=()):
        cur = self.con.cursor()
        cur.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(params))
        if cur.description:
            rows = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
                    for r in cur.fetchall()]
            return _Rows(rows, cur.rowcount, cur.description)
        return _Rows([], cur.rowcount, None)

    def commit(self):
        self.con.commit()

    def close(self):
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.con.commit()
        else:
            self.con.rollback()


class _Rows:
    def __init__(self, rows, rowcount, description):
        self.rows, self.rowcount, self.description = rows, rowcount, description

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def fetchall(self):
        return list(self.rows)

    def __iter__(self):
        return iter(self.rows)


def table_names(con):
    """The tables of the database con is connected to (not the key store)."""
    if PG:
        sql = ("SELECT table_name FROM information_schema.tables WHERE table_schema = "
               "current_schema() AND table_type = 'BASE TABLE' ORDER BY 1")
    else:
        sql = ("SELECT name FROM main.sqlite_master WHERE type = 'table' "
               "AND name NOT LIKE 'sqlite_%' ORDER BY name")
    return [r[0] for r in con.execute(sql)]


def column_names(con, table):
    if PG:
        return [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = ? ORDER BY ordinal_position", (table,))]
    return [r[1] for r in con.execute(f'PRAGMA main.table_info("{table}")')]


def value_type(con, table, column, where, params):
    """The storage type of one value: "blob" for SQLite's BLOB and
    PostgreSQL's bytea alike, else the engine's own name."""
    fn = "pg_typeof" if PG else "typeof"
    t = con.execute(f'SELECT {fn}("{column}")::text FROM "{table}" WHERE {where}' if PG else
                    f'SELECT {fn}("{column}") FROM "{table}" WHERE {where}',
                    params).fetchone()[0]
    return "blob" if t == "bytea" else t


def dump_rows(con):
    """Every row of every table, as text (what a copy of the database holds)."""
    return "\n".join(f"{t}: {row!r}" for t in table_names(con)
                     for row in con.execute(f'SELECT * FROM "{t}"'))


def connect(path, readonly=True):
    """A connection to the live database at path, on the engine under test
    (read-only on SQLite unless readonly is False; writes autocommit)."""
    if PG:
        return _PgConnection(pg_ensure(path), autocommit=True)
    if readonly:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=15)
    con = sqlite3.connect(str(path), timeout=15, isolation_level=None)
    con.execute("PRAGMA busy_timeout = 15000")
    return con


def uniq(prefix="x"):
    """A short unique lower-case token, usable in slugs, emails and names."""
    return f"{prefix}{next(_counter)}{secrets.token_hex(3)}"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sanitizer_report(text):
    return [m for m in SANITIZER_MARKERS if m in text]


def assert_problem(r, status=None, detail_contains=None):
    """r is an application/problem+json document {type, title, status, detail}
    whose status matches the HTTP status; returns the parsed body."""
    if status is not None:
        if isinstance(status, int):
            status = (status,)
        assert r.status_code in status, f"expected {status}, got {r.status_code}: {r.text!r}"
    ctype = r.headers.get("Content-Type", "")
    assert ctype.startswith(PROBLEM_TYPE), f"Content-Type {ctype!r} for {r.status_code}: {r.text!r}"
    try:
        body = r.json()
    except ValueError:
        pytest.fail(f"problem body is not JSON: {r.status_code} {r.text!r}")
    assert isinstance(body, dict), body
    for k in ("type", "title", "status", "detail"):
        assert k in body, f"problem document without {k}: {body}"
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["status"] == r.status_code, body
    if detail_contains is not None:
        needles = [detail_contains] if isinstance(detail_contains, str) else detail_contains
        for n in needles:
            assert n in body["detail"], f"{n!r} not in detail {body['detail']!r}"
    return body


def assert_ok(r, status=None):
    if status is None:
        assert 200 <= r.status_code < 300, f"{r.request.method} {r.request.path_url}: {r.status_code} {r.text}"
    else:
        assert r.status_code == status, f"{r.request.method} {r.request.path_url}: expected {status}, got {r.status_code} {r.text}"
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    return r.json()


def fill_pattern(pattern, values):
    """Replaces {name} segments of a route pattern from values (a dict);
    unknown names get a plausible but unknown id."""
    def sub(m):
        return values.get(m.group(1), "zz_0000000000000000unknown")
    return re.sub(r"\{([a-z_]+)\}", sub, pattern)


_MISSING = object()


class Server:
    """A running `shopkeeper serve` and helpers to call it."""

    def __init__(self, workdir, db=None, extra_args=(), env=None, bootstrap=True):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.db = Path(db) if db else self.workdir / "shopkeeper.db"
        self.extra_args = list(extra_args)
        self.op_token = "sk_boot_" + secrets.token_urlsafe(24) if bootstrap else None
        self.extra_env = dict(env or {})
        self.proc = None
        self.port = None
        self.stderr_path = self.workdir / f"serve-{uniq('')}.stderr"
        self.secrets = set()  # every token and password used against this server
        if self.op_token:
            self.secrets.add(self.op_token)
        self.logins = 0
        self.http = requests.Session()
        # every answer is checked against web/openapi.json (openapi_check.py)
        self.http.hooks["response"].append(openapi_check.response_hook)
        self.returncode = None

    # ---- lifecycle ---------------------------------------------------------

    def start(self):
        last = None
        for _ in range(5):
            self.port = free_port()
            env = dict(os.environ)
            for k in list(env):
                if k.startswith("SHOPKEEPER_"):
                    del env[k]
            if self.op_token:
                env["SHOPKEEPER_BOOTSTRAP_TOKEN"] = self.op_token
            env.update(self.extra_env)
            # the tests sign many shoppers up from one address; the limit itself
            # is tested on servers of its own (test_pw_bounds.py)
            limit = [] if any(str(a).startswith("--signups-per-hour") for a in self.extra_args) \
                else ["--signups-per-hour", "0"]
            dbargs = db_args(self.db)
            if PG and any(str(a) == "--master-key" for a in self.extra_args):
                dbargs = dbargs[:2]
            args = [BIN, "serve", "--listen", f"127.0.0.1:{self.port}", *dbargs,
                    *limit, *self.extra_args]
            self._stderr_f = open(self.stderr_path, "ab")
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=self._stderr_f,
                                         env=env, cwd=self.workdir)
            if self._wait_ready():
                return self
            last = self.stderr()
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._stderr_f.close()
            if "cannot listen" not in last:
                break
        raise RuntimeError(f"shopkeeper serve did not become ready; stderr:\n{last}")

    def _wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                r = requests.get(self.url("/healthz"), timeout=1)
                if r.status_code == 200:
                    return True
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        return False

    def stop(self):
        """SIGTERM; returns the exit code (kills after a timeout)."""
        if self.proc is None:
            return self.returncode
        self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.returncode = "killed after SIGTERM timeout"
                self._stderr_f.close()
                self.proc = None
                return self.returncode
        self.returncode = self.proc.returncode
        self._stderr_f.close()
        self.proc = None
        return self.returncode

    def kill(self):
        """kill -9: a crash, which the end of the test does not count as an
        unclean exit (start() brings it back on a new port)."""
        self.http.close()
        self.proc.kill()
        self.proc.wait()
        self._stderr_f.close()
        self.proc = None
        self.returncode = 0

    def stderr(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def problems_at_stop(self):
        """Stops the server; returns a list of what went wrong (empty if
        nothing): unclean exit, sanitizer reports, secrets in the log."""
        rc = self.stop()
        err = self.stderr()
        out = []
        if rc != 0:
            out.append(f"shopkeeper serve exited with {rc!r} after SIGTERM")
        for m in sanitizer_report(err):
            out.append(f"server stderr contains {m!r}")
        leaked = sorted(s for s in self.secrets if s and s in err)
        if leaked:
            out.append(f"server log contains {len(leaked)} secret(s) (tokens/passwords)")
        if out:
            out.append("--- server stderr (last 6000 chars) ---\n" + err[-6000:])
        return out

    # ---- HTTP --------------------------------------------------------------

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def call(self, method, path, token=None, json=_MISSING, data=None, headers=None,
             params=None, timeout=HTTP_TIMEOUT):
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
            self.secrets.add(token)
        kw = {}
        if json is not _MISSING:
            kw["json"] = json
            self._note_passwords(json)
        if data is not None:
            kw["data"] = data
        r = self.http.request(method, self.url(path), headers=h, params=params,
                              timeout=timeout, **kw)
        if path == "/v1/sessions" and method == "POST":
            self.logins += 1
        self._note_tokens(r)
        return r

    def _note_passwords(self, body):
        if isinstance(body, dict):
            for k, v in body.items():
                # (shorter "passwords" are refused anyway, and would match
                # log text by accident)
                if k == "password" and isinstance(v, str) and len(v) >= 8:
                    self.secrets.add(v)
                else:
                    self._note_passwords(v)
        elif isinstance(body, list):
            for v in body:
                self._note_passwords(v)

    def _note_tokens(self, r):
        if r.headers.get("Content-Type", "").startswith("application/json"):
            try:
                body = r.json()
            except ValueError:
                return
            # bearer credentials handed out: "token", or a store "key"
            if isinstance(body, dict):
                for k in ("token", "key"):
                    if isinstance(body.get(k), str) and body[k].startswith("sk_"):
                        self.secrets.add(body[k])

    def get(self, path, token=None, **kw):
        return self.call("GET", path, token, **kw)

    def post(self, path, token=None, **kw):
        return self.call("POST", path, token, **kw)

    def put(self, path, token=None, **kw):
        return self.call("PUT", path, token, **kw)

    def patch(self, path, token=None, **kw):
        return self.call("PATCH", path, token, **kw)

    def delete(self, path, token=None, **kw):
        return self.call("DELETE", path, token, **kw)

    # ---- domain helpers ----------------------------------------------------

    def new_brand(self, name=None, slug=None, choices=None, notice=None):
        slug = slug or uniq("b-")
        b = assert_ok(self.post("/v1/brands", self.op_token,
                                json={"name": name or f"Brand {slug}", "slug": slug}), 201)
        if choices is not None:
            assert_ok(self.put(f"/v1/brands/{b['id']}/choices", self.op_token, json=choices))
        if notice is not None:
            assert_ok(self.put(f"/v1/brands/{b['id']}/notice", self.op_token, json=notice))
        if choices is not None or notice is not None:
            b = assert_ok(self.get(f"/v1/brands/{b['id']}"))
        return b

    def new_store(self, brand, name=None, timezone="Europe/London", token=None):
        return assert_ok(self.post(f"/v1/brands/{brand['id']}/stores", token or self.op_token,
                                   json={"name": name or uniq("Store "), "timezone": timezone,
                                         "city": "Testville"}), 201)

    def store_ids(self, brand):
        """Every store of the brand (a store role is given per store)."""
        items = assert_ok(self.get(f"/v1/brands/{brand['id']}/stores?limit=200"))["items"]
        return [s["id"] for s in items if not s.get("closed_at")]

    def new_staff(self, brand, role="admin", login=True, token=None, stores=None):
        """A staff member; a manager or counter works at stores (default: every
        store the brand has now, one made when it has none)."""
        email = f"{uniq('staff')}@{brand['slug']}.test"
        password = "pw-" + secrets.token_urlsafe(12)
        body = {"email": email, "name": f"Staff {role}", "role": role, "password": password}
        if role in ("manager", "counter"):
            if stores is None:
                stores = self.store_ids(brand) or [self.new_store(brand)["id"]]
            body["stores"] = stores
        s = assert_ok(self.post(f"/v1/brands/{brand['id']}/staff", token or self.op_token,
                                json=body), 201)
        s["password"] = password
        if login:
            s["token"] = self.login(email, password)["token"]
        return s

    def login(self, email, password, **extra):
        assert self.logins < 28, (
            "this server is near the 30 logins a minute per address limit; "
            "give the test its own server (server_factory)")
        return assert_ok(self.post("/v1/sessions", json={"email": email, "password": password,
                                                         **extra}), 201)

    def new_customer(self, name=None, email=None, password=None):
        name = name or f"Shopper {uniq('n')}"
        email = email or f"{uniq('c')}@example.com"
        password = password or "pw-" + secrets.token_urlsafe(12)
        c = assert_ok(self.post("/v1/customers", json={"name": name, "email": email,
                                                       "password": password}), 201)
        c["password"] = password
        return c

    def join(self, customer, brand, purposes, **extra):
        return assert_ok(self.put(f"/v1/me/brands/{brand['id']}", customer["token"],
                                  json={"purposes": purposes, **extra}))

    def ledger(self, customer):
        """The customer's whole consent ledger, following every page."""
        items, after = [], None
        while True:
            params = {"limit": 200}
            if after:
                params["after"] = after
            page = assert_ok(self.get("/v1/me/consents", customer["token"], params=params))
            items += page["items"]
            after = page["next"]
            if not after:
                return items

    def db_connect(self):
        """A read-only connection to the server's live database."""
        return connect(self.db)


# ---- fixtures --------------------------------------------------------------

@pytest.fixture(scope="session")
def shopkeeper_bin():
    if not os.access(BIN, os.X_OK):
        pytest.exit(f"no shopkeeper binary at {BIN}; build it or set SHOPKEEPER_BIN", 2)
    yield BIN
    for name in sorted(_pg_made):  # the databases this run made (PostgreSQL)
        for n in (name, name + "_keys"):
            try:
                _pg_admin(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')
            except Exception:  # noqa: BLE001 - best effort; the cluster is throwaway
                pass


@pytest.fixture(scope="module")
def server(shopkeeper_bin, tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("srv")).start()
    yield srv
    problems = srv.problems_at_stop()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def server_factory(shopkeeper_bin, tmp_path):
    started = []

    def make(db=None, extra_args=(), env=None, bootstrap=True):
        srv = Server(tmp_path / f"srv{len(started)}", db=db, extra_args=extra_args, env=env,
                     bootstrap=bootstrap)
        started.append(srv)
        return srv.start()

    yield make
    problems = []
    for srv in started:
        problems += srv.problems_at_stop()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


class Cli:
    """Runs `shopkeeper ARGS...` with a separate temp database."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.db = self.workdir / "cli" / "shopkeeper.db"

    def __call__(self, *args, db=True, env=None, timeout=120, check_sanitizers=True):
        cmd = [BIN, *args]
        if db and args and args[0] in ("demo", "admin", "serve"):
            cmd = [BIN, args[0], *db_args(self.db), *args[1:]]
        e = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKEEPER_")}
        e.update(env or {})
        p = subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=self.workdir,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        if check_sanitizers:
            found = sanitizer_report(p.stderr)
            assert not found, f"{' '.join(args)}: sanitizer report {found}:\n{p.stderr[-4000:]}"
        return p


@pytest.fixture
def cli(shopkeeper_bin, tmp_path):
    return Cli(tmp_path)


@pytest.fixture(scope="session")
def routes(shopkeeper_bin):
    p = subprocess.run([BIN, "routes"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    table = json.loads(p.stdout)
    assert isinstance(table, list) and len(table) >= 20
    for r in table:
        assert set(r) >= {"method", "pattern", "who", "roles", "summary"}, r
    return table


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def pytest_terminal_summary(terminalreporter):
    c = openapi_check._contract
    if c is not None and c.checked:
        ops = len(c.ops)
        terminalreporter.write_line(
            f"web/openapi.json: {c.checked} responses checked, {len(c.seen)} of {ops} "
            f"operations answered with a status the document lists")
