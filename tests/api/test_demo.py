"""The demo, as a newcomer sees it through the API — made on the engine
under test, and (PostgreSQL pass) made on SQLite and moved to PostgreSQL
with `shopkeeper migrate-data`, where every check here must hold on the
copy."""
import json
import os
import re
import sqlite3
import subprocess

import pytest

from conftest import BIN, PG, assert_ok, assert_problem, pg_dbname, pg_ensure, pg_env

DEMO_PASSWORD = "shopkeeper-demo"


def run(*args):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **pg_env()}
    return subprocess.run([BIN, *args], capture_output=True, text=True, env=env, timeout=300,
                          stdin=subprocess.DEVNULL)


def migrated_demo(tmp_path):
    """The demo made in a SQLite file, then copied into PostgreSQL; returns
    (operator token, the path standing for the copy, the master key)."""
    src = tmp_path / "sqlite" / "shop.db"
    p = run("demo", "--db", str(src))
    assert p.returncode == 0, p.stderr
    op = re.search(r"operator token:\s+(sk_\S+)", p.stdout).group(1)
    target = tmp_path / "pg" / "shop.db"
    name = pg_ensure(target)
    bad = run("migrate-data", "--from", str(src), "--to", str(tmp_path / "other.db"))
    assert bad.returncode == 2 and "PostgreSQL" in bad.stderr
    m = run("migrate-data", "--from", str(src), "--to", f"dbname={name}")
    assert m.returncode == 0, m.stderr
    out = json.loads(m.stdout)
    con = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    con.execute("ATTACH DATABASE ? AS keys", (f"file:{src}.keys?mode=ro",))
    try:
        for table, n in out["tables"].items():
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == n, table
    finally:
        con.close()
    assert out["tables"]["customers"] == 12 and out["tables"]["keys.customer_keys"] == 12
    assert out["tables"]["purchase_lines"] > 0
    # a second run finds the copy there and copies nothing
    again = run("migrate-data", "--from", str(src), "--to", f"dbname={name}")
    assert again.returncode == 1 and "not empty" in again.stderr, again.stderr
    assert pg_dbname(target) == name
    return op, target, src.parent / "master.key"


@pytest.fixture(params=["made here", "migrated from SQLite"])
def demo(request, cli, server_factory, tmp_path):
    if request.param == "made here":
        p = cli("demo")
        assert p.returncode == 0, p.stderr
        op = re.search(r"operator token:\s+(sk_\S+)", p.stdout).group(1)
        srv = server_factory(db=cli.db)
    else:
        if not PG:
            pytest.skip("migrate-data copies into PostgreSQL: this runs in the PostgreSQL pass")
        op, target, key = migrated_demo(tmp_path)
        srv = server_factory(db=target, extra_args=["--master-key", str(key)])
    srv.secrets |= {op, DEMO_PASSWORD}
    return srv, op


def test_demo_through_the_api(demo):
    srv, op = demo
    brands = assert_ok(srv.get("/v1/brands"))["items"]
    by_slug = {b["slug"]: b for b in brands}
    assert set(by_slug) == {"pike-pine", "marlowe-books", "harrow-vale"}
    for b in brands:
        assert b["choices"] and b["choices_version"] == 1
        assert all({"key", "label", "kind", "purpose"} <= set(c) for c in b["choices"])
        assert b["notice"] and b["notice"]["text"] and b["notice"]["faq"]
        assert b["notice_version"] == 1
        assert assert_ok(srv.get(f"/v1/brands/{b['slug']}/stores"))["items"]
    assert assert_ok(srv.get("/v1/sessions/current", op))["kind"] == "operator"

    # Jeff logs in and sees his memberships
    jeff = srv.login("jeff@example.com", DEMO_PASSWORD)
    assert jeff["kind"] == "customer"
    me = assert_ok(srv.get("/v1/me", jeff["token"]))
    assert me["name"] == "Jeff Morgan"
    mine = {m["brand"]["slug"]: m for m in
            assert_ok(srv.get("/v1/me/brands", jeff["token"]))["items"]}
    assert set(mine) == {"pike-pine", "marlowe-books"}
    assert {"recognition", "preferences"} <= set(mine["pike-pine"]["purposes"])
    prefs = assert_ok(srv.get("/v1/me/brands/pike-pine/preferences", jeff["token"]))
    assert prefs["answers"]["usual"] == "Tall Drip Pike"
    ledger = assert_ok(srv.get("/v1/me/consents", jeff["token"]))["items"]
    assert ledger and all(e["action"] == "grant" and e["via"] == "demo" for e in ledger)

    # the manager at Pike & Pine sees him; Harrow & Vale does not
    manager = srv.login("manager@pike-pine.example", DEMO_PASSWORD)
    v = assert_ok(srv.get(f"/v1/brands/pike-pine/members/{me['id']}", manager["token"]))
    assert v["name"] == "Jeff Morgan"
    assert v["preferences"]["answers"]["usual"] == "Tall Drip Pike"
    hv = srv.login("manager@harrow-vale.example", DEMO_PASSWORD)
    assert_problem(srv.get(f"/v1/brands/harrow-vale/members/{me['id']}", hv["token"]), 404)
    assert_problem(srv.get(f"/v1/brands/pike-pine/members/{me['id']}", hv["token"]), 403)
    # the counter staff serve him at the counter but cannot look him up
    counter = srv.login("counter@pike-pine.example", DEMO_PASSWORD)
    r = srv.get(f"/v1/brands/pike-pine/members/{me['id']}", counter["token"])
    assert_problem(r, 403, ["admin or manager", "counter"])
    assert "Jeff" not in r.text


def test_demo_staff_roles(demo):
    srv, _ = demo
    admin = srv.login("admin@marlowe-books.example", DEMO_PASSWORD)
    assert admin["role"] == "admin"
    staff = assert_ok(srv.get("/v1/brands/marlowe-books/staff", admin["token"]))["items"]
    assert sorted(s["role"] for s in staff) == ["admin", "counter", "manager"]
    manager = srv.login("manager@marlowe-books.example", DEMO_PASSWORD)
    assert_problem(srv.put("/v1/brands/marlowe-books/notice", manager["token"],
                           json={"text": "x"}), 403)
    # the manager and the counter staff work at the brand's first store only
    stores = [s["id"] for s in
              assert_ok(srv.get("/v1/brands/marlowe-books/stores"))["items"]]
    assert len(stores) >= 2
    by_role = {s["role"]: s for s in staff}
    assert by_role["admin"]["grants"] == [{"role": "admin"}]
    assert by_role["manager"]["grants"] == [{"role": "manager", "store": stores[0]}]
    assert by_role["counter"]["grants"] == [{"role": "counter", "store": stores[0]}]
    assert_ok(srv.get(f"/v1/stores/{stores[0]}/keys", manager["token"]))
    assert_problem(srv.get(f"/v1/stores/{stores[1]}/keys", manager["token"]), 403, "manager")
    counter = srv.login("counter@marlowe-books.example", DEMO_PASSWORD)
    assert_ok(srv.get(f"/v1/stores/{stores[0]}/cards", counter["token"]))
    assert_problem(srv.get(f"/v1/stores/{stores[1]}/cards", counter["token"]), 403, "counter")
