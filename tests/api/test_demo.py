"""The demo, as a newcomer sees it through the API."""
import re

import pytest

from conftest import assert_ok, assert_problem

DEMO_PASSWORD = "shopkeeper-demo"


@pytest.fixture
def demo(cli, server_factory):
    p = cli("demo")
    assert p.returncode == 0, p.stderr
    op = re.search(r"operator token:\s+(sk_\S+)", p.stdout).group(1)
    srv = server_factory(db=cli.db)
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
