"""Purchases (issue 5): idempotent POST /v1/brands/{brand}/purchases from staff
and point-of-sale keys, linked to the customer only under a current
"history" grant (else an anonymous basket), unlinked when history is
withdrawn or the brand left, the customer's own history, and `shopkeeper
import purchases`."""
import json
import subprocess
import uuid

import pytest

from conftest import pg_env, db_args, BIN, assert_ok, assert_problem, uniq


@pytest.fixture(scope="module")
def shop(server):
    b = server.new_brand(name="Purchase Test Books")
    admin = server.new_staff(b, "admin")
    store = server.new_store(b)
    other_store = server.new_store(b)
    counter = server.new_staff(b, "counter", stores=[store["id"]])  # at the first store only
    for sku, title in [("bk-1", "The Spy"), ("bk-2", "Gardening"), ("cof-1", "Beans")]:
        assert_ok(server.put(f"/v1/brands/{b['id']}/items/{sku}", admin["token"],
                             json={"title": title, "category": "books/fiction"}))
    pos = assert_ok(server.post(f"/v1/stores/{store['id']}/pos", admin["token"],
                                json={"name": "Till 1"}), 201)
    assert pos["kind"] == "pos" and pos["store_id"] == store["id"]
    return {"brand": b, "admin": admin, "counter": counter, "store": store,
            "other_store": other_store, "pos": pos["key"]}


def buy(server, shop, token, body, key=None, status=201):
    key = key or str(uuid.uuid4())
    r = server.post(f"/v1/brands/{shop['brand']['id']}/purchases", token, json=body,
                    headers={"Idempotency-Key": key})
    if status is None:
        return r
    return assert_ok(r, status)


def history(server, shop, customer):
    return assert_ok(server.get(f"/v1/me/brands/{shop['brand']['id']}/purchases",
                                customer["token"]))["items"]


def purchase_count(server):
    con = server.db_connect()
    try:
        return con.execute("SELECT count(*) FROM purchases").fetchone()[0]
    finally:
        con.close()


def count_rows(server, pid):
    con = server.db_connect()
    try:
        return con.execute("SELECT count(*) FROM purchases WHERE id = ?", (pid,)).fetchone()[0], \
            con.execute("SELECT customer_id FROM purchases WHERE id = ?", (pid,)).fetchone()
    finally:
        con.close()


def test_idempotent_purchase(server, shop):
    body = {"store": shop["store"]["id"], "lines": [{"sku": "bk-1", "qty": 2, "price": 12.5},
                                                    {"sku": "cof-1", "qty": 1, "price": "3.99"}]}
    key = str(uuid.uuid4())
    first = buy(server, shop, shop["counter"]["token"], body, key)
    assert first["id"].startswith("pur_") and first["linked"] is False
    assert [(l["sku"], l["qty"], l["price"]) for l in first["lines"]] == \
        [("bk-1", 2, 12.5), ("cof-1", 1, 3.99)]
    assert first["total"] == pytest.approx(28.99)
    again = buy(server, shop, shop["counter"]["token"], body, key)
    assert again == first
    con = server.db_connect()
    try:
        n = con.execute("SELECT count(*) FROM purchases p JOIN purchase_keys k ON "
                        "k.purchase_id = p.id WHERE k.key = ?", (key,)).fetchone()[0]
        lines = con.execute("SELECT count(*) FROM purchase_lines WHERE purchase_id = ?",
                            (first["id"],)).fetchone()[0]
    finally:
        con.close()
    assert n == 1 and lines == 2
    # the same key with another body: 409, nothing written
    r = buy(server, shop, shop["counter"]["token"],
            dict(body, lines=[{"sku": "bk-1", "qty": 3, "price": 12.5}]), key, status=None)
    assert_problem(r, 409, "Idempotency-Key")


def test_purchase_validation(server, shop):
    tok = shop["counter"]["token"]
    s = shop["store"]["id"]
    ok_line = {"sku": "bk-1", "qty": 1, "price": 1}
    for body, field in [
        ({"lines": [ok_line]}, "store"),
        ({"store": s}, "lines"),
        ({"store": s, "lines": []}, "lines"),
        ({"store": s, "lines": [ok_line] * 201}, "lines"),
        ({"store": s, "lines": [{"qty": 1, "price": 1}]}, "lines[0].sku"),
        ({"store": s, "lines": [ok_line, {"sku": "bk-1", "qty": 0, "price": 1}]}, "lines[1].qty"),
        ({"store": s, "lines": [{"sku": "bk-1", "qty": 1, "price": -1}]}, "lines[0].price"),
        ({"store": s, "lines": [{"sku": "bk-1", "qty": 1, "price": 1.234}]}, "lines[0].price"),
        ({"store": s, "lines": [dict(ok_line, **{"for": "not a person!"})]}, "lines[0].for"),
        ({"store": s, "at": "yesterday", "lines": [ok_line]}, "at"),
        ({"store": s, "customer": "bad id!", "lines": [ok_line]}, "customer"),
        ({"store": s, "lines": [ok_line, {"sku": "no-such", "qty": 1, "price": 1}]},
         "lines[1].sku"),
    ]:
        assert_problem(buy(server, shop, tok, body, status=None), 422, field)
    # an unknown store: no such store for the brand-wide admin; counter staff
    # hold no role there, so it is theirs to be refused
    unknown = {"store": "sto_unknown000000000000", "lines": [ok_line]}
    assert_problem(buy(server, shop, shop["admin"]["token"], unknown, status=None), 422, "store")
    assert_problem(buy(server, shop, tok, unknown, status=None), 403, "store")
    # the header is required
    r = server.post(f"/v1/brands/{shop['brand']['id']}/purchases", tok,
                    json={"store": s, "lines": [ok_line]})
    assert_problem(r, 422, "Idempotency-Key")
    # another brand's store
    other = server.new_brand()
    ostore = server.new_store(other)
    assert_problem(buy(server, shop, shop["admin"]["token"],
                       {"store": ostore["id"], "lines": [ok_line]}, status=None), 422, "store")
    assert_problem(buy(server, shop, tok, {"store": ostore["id"], "lines": [ok_line]},
                       status=None), 403, "store")


def test_pos_key_posts_only_for_its_store(server, shop):
    line = [{"sku": "bk-2", "qty": 1, "price": 20}]
    p = buy(server, shop, shop["pos"], {"store": shop["store"]["id"], "lines": line})
    assert p["store"] == shop["store"]["id"]
    r = buy(server, shop, shop["pos"], {"store": shop["other_store"]["id"], "lines": line},
            status=None)
    assert_problem(r, 403, "store")
    # a pos key is not a staff token anywhere else
    assert_problem(server.put(f"/v1/brands/{shop['brand']['id']}/items/x1", shop["pos"],
                              json={"title": "x"}), 403)
    other = server.new_brand()
    r = server.post(f"/v1/brands/{other['id']}/purchases", shop["pos"],
                    json={"store": shop["store"]["id"], "lines": line},
                    headers={"Idempotency-Key": str(uuid.uuid4())})
    assert_problem(r, 403)
    # counter staff may not make pos keys
    assert_problem(server.post(f"/v1/stores/{shop['store']['id']}/pos",
                               shop["counter"]["token"]), 403)


def test_staff_record_purchases_only_where_they_hold_a_role(server, shop):
    line = [{"sku": "bk-2", "qty": 1, "price": 20}]
    before = purchase_count(server)
    r = buy(server, shop, shop["counter"]["token"],
            {"store": shop["other_store"]["id"], "lines": line}, status=None)
    assert_problem(r, 403, "store")
    assert purchase_count(server) == before
    # a manager of the other store may; the admin anywhere in the brand
    manager = server.new_staff(shop["brand"], "manager", stores=[shop["other_store"]["id"]])
    p = buy(server, shop, manager["token"], {"store": shop["other_store"]["id"], "lines": line})
    assert p["store"] == shop["other_store"]["id"]
    assert_problem(buy(server, shop, manager["token"],
                       {"store": shop["store"]["id"], "lines": line}, status=None), 403, "store")
    p = buy(server, shop, shop["admin"]["token"], {"store": shop["other_store"]["id"],
                                                   "lines": line})
    assert p["store"] == shop["other_store"]["id"]


def test_linked_only_under_history_grant(server, shop):
    b = shop["brand"]
    granted = server.new_customer()
    server.join(granted, b, ["recognition", "history"])
    not_granted = server.new_customer()
    server.join(not_granted, b, ["recognition", "preferences"])
    stranger = server.new_customer()
    line = [{"sku": "bk-1", "qty": 1, "price": 9.99, "for": "per_0000000000000000abc"}]
    s = shop["store"]["id"]
    p1 = buy(server, shop, shop["counter"]["token"], {"store": s, "customer": granted["id"],
                                                      "lines": line})
    assert p1["linked"] is True and p1["customer"] == granted["id"]
    assert p1["lines"][0]["for"] == "per_0000000000000000abc"
    p2 = buy(server, shop, shop["counter"]["token"], {"store": s, "customer": not_granted["id"],
                                                      "lines": line})
    assert p2["linked"] is False and p2["customer"] is None and p2["lines"][0]["for"] is None
    p3 = buy(server, shop, shop["pos"], {"store": s, "customer": stranger["id"], "lines": line})
    assert p3["linked"] is False
    mine = history(server, shop, granted)
    assert [p["id"] for p in mine] == [p1["id"]]
    assert mine[0]["lines"][0]["title"] == "The Spy" and mine[0]["store_name"]
    assert history(server, shop, not_granted) == []
    assert history(server, shop, stranger) == []
    # the anonymous baskets exist, linked to no one
    for p in (p2, p3):
        n, cust = count_rows(server, p["id"])
        assert n == 1 and cust == (None,)
    # the customer's export carries the linked purchase only
    x = assert_ok(server.get("/v1/me/export", granted["token"]))
    assert [p["id"] for p in x["purchases"]] == [p1["id"]]
    assert assert_ok(server.get("/v1/me/export", not_granted["token"]))["purchases"] == []


@pytest.mark.parametrize("how", ["withdraw", "leave"])
def test_withdrawing_history_unlinks(server, shop, how):
    b = shop["brand"]
    c = server.new_customer()
    server.join(c, b, ["recognition", "history"])
    s = shop["store"]["id"]
    ids = [buy(server, shop, shop["counter"]["token"],
               {"store": s, "customer": c["id"],
                "lines": [{"sku": "bk-2", "qty": 1, "price": 5, "for": "per_0000000000000000abd"}]}
               )["id"] for _ in range(3)]
    assert sorted(p["id"] for p in history(server, shop, c)) == sorted(ids)
    if how == "withdraw":
        server.join(c, b, ["recognition"])
    else:
        assert_ok(server.delete(f"/v1/me/brands/{b['id']}", c["token"]))
    assert history(server, shop, c) == []
    assert assert_ok(server.get("/v1/me/export", c["token"]))["purchases"] == []
    con = server.db_connect()
    try:
        for pid in ids:
            row = con.execute("SELECT customer_id FROM purchases WHERE id = ?", (pid,)).fetchone()
            assert row == (None,)
            fors = con.execute("SELECT for_person FROM purchase_lines WHERE purchase_id = ?",
                               (pid,)).fetchall()
            assert fors == [(None,)]
    finally:
        con.close()
    # granting again links new purchases only
    server.join(c, b, ["history"])
    p = buy(server, shop, shop["counter"]["token"],
            {"store": s, "customer": c["id"], "lines": [{"sku": "bk-2", "qty": 1, "price": 5}]})
    assert [x["id"] for x in history(server, shop, c)] == [p["id"]]


def test_my_purchases_is_paged_and_mine(server, shop):
    b = shop["brand"]
    c = server.new_customer()
    server.join(c, b, ["history"])
    s = shop["store"]["id"]
    ids = [buy(server, shop, shop["counter"]["token"],
               {"store": s, "customer": c["id"], "lines": [{"sku": "cof-1", "qty": 1, "price": 3}]}
               )["id"] for _ in range(5)]
    seen, after = [], None
    while True:
        params = {"limit": 2}
        if after:
            params["after"] = after
        page = assert_ok(server.get(f"/v1/me/brands/{b['id']}/purchases", c["token"],
                                    params=params))
        seen += [p["id"] for p in page["items"]]
        after = page["next"]
        if not after:
            break
    assert seen == list(reversed(ids))  # newest first
    # staff may not read the customer's history through this route
    assert_problem(server.get(f"/v1/me/brands/{b['id']}/purchases", shop["admin"]["token"]), 403)


def test_cli_import_purchases(server_factory, tmp_path):
    srv = server_factory()
    b = srv.new_brand()
    admin = srv.new_staff(b, "admin")
    store = srv.new_store(b)
    for sku in ("a1", "a2"):
        assert_ok(srv.put(f"/v1/brands/{b['id']}/items/{sku}", admin["token"],
                          json={"title": sku}))
    linked = srv.new_customer()
    srv.join(linked, b, ["history"])
    anon = srv.new_customer()
    srv.join(anon, b, ["recognition"])
    st = store["id"]
    csv = (
        "txn,store,at,customer_email,sku,qty,price\n"
        f"t1,{st},2026-01-02T10:00:00Z,{linked['email'].upper()},a1,1,4.50\n"
        f"t1,{st},2026-01-02T10:00:00Z,{linked['email'].upper()},a2,2,1\n"
        f"t2,{st},2026-01-03T10:00:00Z,{anon['email']},a1,1,4.50\n"
        f"t3,{st},2026-01-04T10:00:00Z,,a1,1,4.50\n"
        f"t4,{st},2026-01-05T10:00:00Z,,a1,1,4.50\n"
        f"t4,{st},2026-01-05T10:00:00Z,,zz-unknown,1,4.50\n"
        f"t5,{st},2026-01-06T10:00:00Z,,a1,x,4.50\n"
        f"t5,{st},2026-01-06T10:00:00Z,,a2,1,4.50\n"
        f"t6,sto_nope00000000000000,2026-01-06T10:00:00Z,,a1,1,1\n"
    )
    f = tmp_path / "till.csv"
    f.write_text(csv)
    srv.stop()
    env = {"PATH": "/usr/bin:/bin", **pg_env()}
    args = [BIN, "import", "purchases", str(f), "--brand", b["slug"], *db_args(srv.db)]
    p = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 1, p.stderr
    s = json.loads(p.stdout)
    assert s["imported"] == 3 and s["linked"] == 1 and s["anonymous"] == 2, s
    rej = {x["line"]: x["reason"] for x in s["rejected"]}
    assert set(rej) == {6, 7, 8, 9, 10}, s
    assert rej[7].startswith("sku") and "line 7" in rej[6]
    assert rej[8].startswith("qty") and "line 8" in rej[9]
    assert rej[10].startswith("store")
    # again: nothing counted twice
    p = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    s2 = json.loads(p.stdout)
    assert s2["imported"] == 0 and s2["duplicates"] == 3, s2
    srv2 = server_factory(db=srv.db)
    tok = srv2.login(linked["email"], linked["password"], kind="customer")["token"]
    mine = assert_ok(srv2.get(f"/v1/me/brands/{b['id']}/purchases", tok))["items"]
    assert len(mine) == 1 and [(l["sku"], l["qty"]) for l in mine[0]["lines"]] == \
        [("a1", 1), ("a2", 2)]
    assert mine[0]["at"].startswith("2026-01-02T10:00:00")
    con = srv2.db_connect()
    try:
        assert con.execute("SELECT count(*) FROM purchases WHERE brand_id = ?",
                           (b["id"],)).fetchone()[0] == 3
    finally:
        con.close()
