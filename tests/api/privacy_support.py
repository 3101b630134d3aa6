"""
Helpers for the privacy API tests (test_privacy*.py, issue 4): the
customer's access log and its chain check, the database files of a running
server (the main database, its key store `<db>.keys` and `master.key`
beside it), a consistent copy of the main database, `shopkeeper sweep` with
a chosen clock, and a brand with staff whose personal names must never
reach a customer's access log.
"""
import datetime as dt
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

from conftest import (BIN, PG, _PgConnection, _pg_admin, assert_ok, column_names, connect,
                      db_args, pg_dbname, pg_ensure, sanitizer_report, table_names, uniq)
from recog_support import CHOICES, Shop, new_store

ZERO_HASH = "0" * 64


# ---- the customer's side -------------------------------------------------------

def access_log(server, customer, **params):
    """Every entry of the customer's access log, following every page
    (newest first, as the API answers)."""
    items, after = [], None
    while True:
        q = {"limit": 200, **params}
        if after:
            q["after"] = after
        page = assert_ok(server.get("/v1/me/access-log", customer["token"], params=q))
        items += page["items"]
        after = page["next"]
        if not after:
            return items


def verify(server, customer):
    return assert_ok(server.get("/v1/me/access-log/verify", customer["token"]))


def export(server, customer):
    return assert_ok(server.get("/v1/me/export", customer["token"]))


def wait_until(fn, timeout=3.0, interval=0.03, what="condition"):
    """Polls fn() until it returns something truthy; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# ---- a brand whose staff have personal names -------------------------------------

def named_staff(server, brand, role, name, token=None):
    """A staff member with a personal name (and email) that must never be
    shown to a customer; logged in."""
    email = f"{uniq('st')}@{brand['slug']}.test"
    password = "pw-" + secrets.token_urlsafe(12)
    body = {"email": email, "name": name, "role": role, "password": password}
    if role in ("manager", "counter"):
        body["stores"] = server.store_ids(brand) or [server.new_store(brand)["id"]]
    s = assert_ok(server.post(f"/v1/brands/{brand['id']}/staff", token or server.op_token,
                              json=body), 201)
    s["password"] = password
    s["token"] = server.login(email, password)["token"]
    return s


def company(server, name=None, staff=("admin", "counter")):
    """A brand (with the recognition tests' choices) and one staff member per
    role in staff, each with a distinctive personal name; a Shop (store,
    scanner and display keys) when an admin or manager exists."""
    b = server.new_brand(name=name or f"Privacy Co {uniq('')}", choices=CHOICES,
                         notice={"text": "We recognise members who opt in.",
                                 "faq": [{"q": "Can I leave?", "a": "Any time."}]})
    # the shop's store first: managers and counter staff work at it
    store = new_store(server, b, None, "Testville")
    people = {}
    for role in staff:
        people[role] = named_staff(server, b, role, f"Hildegard {role.title()} Quimby-{uniq('')}")
    co = SimpleNamespace(brand=b, staff=people, **people)
    maker = people.get("admin") or people.get("manager")
    co.shop = Shop(server, b, maker["token"], store=store) if maker else None
    return co


def staff_secrets(co):
    """What identifies the company's staff members as persons."""
    out = []
    for s in co.staff.values():
        out += [s["name"], s["email"], s["id"]]
    return out


# ---- the server's files ------------------------------------------------------------

def keys_file(server):
    """The key store (the default of --keys): SQLite's file beside the
    database; PostgreSQL's database named like the data's + "_keys"."""
    if PG:
        return f"dbname={pg_dbname(server.db)}_keys"
    return Path(str(server.db) + ".keys")


def keys_connect(server):
    """A read-only look at the key store's table of customer keys."""
    if PG:
        return _PgConnection(f"{pg_dbname(server.db)}_keys", autocommit=True)
    con = sqlite3.connect(":memory:", uri=True)
    con.execute("ATTACH DATABASE ? AS keys", (f"file:{keys_file(server)}?mode=ro",))
    return con


def master_key_file(server):
    """conftest starts servers without --master-key: the key is generated as
    master.key beside the database."""
    return server.db.parent / "master.key"


def copy_db(src, dest):
    """A copy of a database that no server has open (a backup's backup)."""
    if PG:
        name = pg_dbname(dest)
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_dbname(src)}"')
        pg_ensure(dest)
        return Path(dest)
    shutil.copyfile(src, dest)
    return Path(dest)


def rw_connect(path):
    """A read-write connection to a live database (the server keeps running:
    SQLite's WAL, and a busy timeout for its writers), on either engine."""
    return connect(path, readonly=False)


def ro_connect(path):
    return connect(path)


def backup_main_db(server, dest):
    """A consistent copy of the main database file (what a nightly backup
    of the database holds: committed WAL content included, the key store
    not), by SQLite's online backup API."""
    if PG:  # pg_dump, restored into a database of the backup's own
        name = pg_ensure(dest)
        dump = subprocess.run(["pg_dump", "--no-owner", "-d", pg_dbname(server.db)],
                              capture_output=True, check=True, timeout=120).stdout
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", name], input=dump,
                       capture_output=True, check=True, timeout=120)
        return Path(dest)
    src = ro_connect(server.db)
    dst = sqlite3.connect(str(dest))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return Path(dest)


def tables(con, schema="main"):
    if schema == "main":
        return table_names(con)
    if PG:
        return [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
            "ORDER BY 1", (schema,))]
    return [r[0] for r in con.execute(
        f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def columns(con, table, schema="main"):
    if schema == "main":
        return column_names(con, table)
    if PG:
        return [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND "
            "table_name = ? ORDER BY ordinal_position", (schema, table))]
    return [r[1] for r in con.execute(f'PRAGMA {schema}.table_info("{table}")')]


def tables_with_column(con, column, schema="main"):
    return sorted(t for t in tables(con, schema) if column in columns(con, t, schema))


def tables_referencing(con, target, schema="main"):
    """Tables with a foreign key to target."""
    if PG:
        return sorted(r[0] for r in con.execute(
            "SELECT DISTINCT conrelid::regclass::text FROM pg_constraint WHERE contype = 'f' "
            "AND confrelid = CAST(? AS regclass)", (target,)))
    return sorted(t for t in tables(con, schema)
                  if any(r[2] == target for r in con.execute(
                      f'PRAGMA {schema}.foreign_key_list("{t}")')))


def cells_containing(con, needle):
    """(table, column, rowid) of every value in the main database that holds
    needle: text containing it, or a blob containing its UTF-8 bytes."""
    hits = []
    nb = needle.encode()
    for t in tables(con):
        cols = columns(con, t)
        rowid = "ctid::text" if PG else "rowid"
        for row in con.execute(f'SELECT {rowid}, * FROM "{t}"'):
            for c, v in zip(cols, row[1:]):
                if (isinstance(v, str) and needle in v) or (isinstance(v, bytes) and nb in v):
                    hits.append((t, c, row[0]))
    return hits


# ---- time and the sweep -----------------------------------------------------------

def parse_time(s):
    return dt.datetime.strptime(s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")


def fmt_time(t):
    t = t.astimezone(dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def utcnow():
    return dt.datetime.now(dt.timezone.utc)


def sweep(server, now, *args, check=True):
    """Runs `shopkeeper sweep` on the server's database (its key store and
    master key named explicitly) as of now; returns (process, parsed JSON)."""
    files = [] if PG else ["--keys", str(keys_file(server)),
                           "--master-key", str(master_key_file(server))]
    cmd = [BIN, "sweep", *db_args(server.db), *files,
           "--now", now if isinstance(now, str) else fmt_time(now), *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL,
                       env={k: v for k, v in os.environ.items()
                            if not k.startswith("SHOPKEEPER_")})
    assert not sanitizer_report(p.stderr), p.stderr
    out = None
    if check:
        assert p.returncode == 0, f"sweep exited {p.returncode}: {p.stderr}"
        out = json.loads(p.stdout)
    return p, out
