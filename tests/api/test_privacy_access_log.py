"""The shopper in control (issue 4): the customer's access log. One entry
for each kind of look by a brand actor — a member profile opened by staff, a
card shown on a counter display, a brand export — and none for anything
else: the customer reading their own data, public reads, lookups of
non-members, strangers' sightings. Newest first, paged, filterable by brand;
never a staff member's personal name."""
import json
import secrets

import pytest

from conftest import RFC3339_UTC, assert_ok, assert_problem
from privacy_support import (access_log, company, export, staff_secrets, verify, wait_until)
from recog_support import Device, Shop, member, stats


@pytest.fixture(scope="module")
def pike(server):
    return company(server, name="Pike Log Coffee", staff=("admin", "manager", "counter"))


@pytest.fixture(scope="module")
def elsewhere(server):
    return company(server, name="Elsewhere Log Books", staff=("admin",))


@pytest.fixture
def streams():
    opened = []

    def open_stream(shop, token=None):
        s = shop.stream(token)
        opened.append(s)
        return s

    yield open_stream
    for s in opened:
        s.close()


def total_access_rows(server):
    con = server.db_connect()
    try:
        return con.execute("SELECT count(*) FROM access_log").fetchone()[0]
    finally:
        con.close()


def member_view(server, brand, customer, token):
    return server.get(f"/v1/brands/{brand['id']}/members/{customer['id']}", token)


def test_each_kind_of_look_is_one_entry(server, pike, streams):
    brand, shop = pike.brand, pike.shop
    jo = member(server, brand, ["recognition", "preferences"], name="Jo Looked-At",
                answers={"usual": "Flat White", "receipt": True}, dont=["pastry offers"])
    assert access_log(server, jo) == []

    # counter staff may not open a profile: refused, and no look
    r = member_view(server, brand, jo, pike.counter["token"])
    assert_problem(r, 403, ["admin or manager", "counter"])
    assert "Jo Looked-At" not in r.text
    assert access_log(server, jo) == []

    # 1. a store manager opens her profile
    view = assert_ok(member_view(server, brand, jo, pike.manager["token"]))
    assert view["name"] == "Jo Looked-At"
    log = access_log(server, jo)
    assert len(log) == 1
    e = log[0]
    assert e["actor_kind"] == "staff" and e["actor_role"] == "manager"
    assert e["brand_id"] == brand["id"] and e["brand_slug"] == brand["slug"]
    assert e["brand_name"] == brand["name"]
    assert e["store_id"] is None and e["store_name"] is None
    assert e["fields"].split() == ["name", "preferences"]
    assert e["purpose"].split() == ["recognition", "preferences"]
    assert RFC3339_UTC.match(e["at"]) and e["id"].startswith("acc_")

    # 2. her phone is heard at the store: her card is shown on the counter display
    display = streams(shop)
    phone = Device(k=8)
    phone.register(server, jo)
    shop.sight(phone.eid())
    card = display.expect("card")
    assert card["customer"]["name"] == "Jo Looked-At"
    log = wait_until(lambda: (lambda l: l if len(l) == 2 else None)(access_log(server, jo)),
                     what="the display's access-log entry")
    e = log[0]
    assert e["actor_kind"] == "display" and e["actor_role"] == "counter display"
    assert e["store_id"] == shop.id and e["store_name"] == shop.store["name"]
    assert e["brand_id"] == brand["id"]
    assert set(e["fields"].split()) == {"name", "choices", "dont"}
    assert set(e["purpose"].split()) == {"recognition", "preferences"}
    # more presences of the same visit are not new looks
    shop.sight(phone.eid())
    display.quiet(0.3)
    assert len(access_log(server, jo)) == 2

    # 3. the brand's admin exports what the brand holds of her
    assert_ok(server.get(f"/v1/brands/{brand['id']}/members/{jo['id']}/export",
                         pike.admin["token"]))
    log = access_log(server, jo)
    assert len(log) == 3
    e = log[0]
    assert e["actor_kind"] == "export" and e["actor_role"] == "admin"
    assert e["brand_id"] == brand["id"] and e["store_id"] is None
    assert "name" in e["fields"].split() and "visits" in e["fields"].split()

    # newest first, by id and by time
    assert [x["actor_kind"] for x in log] == ["export", "display", "staff"]
    assert [x["id"] for x in log] == sorted((x["id"] for x in log), reverse=True)
    assert [x["at"] for x in log] == sorted((x["at"] for x in log), reverse=True)
    assert verify(server, jo) == {"intact": True, "checked": 3, "anchored": False}


def test_the_customer_reading_their_own_data_is_not_a_look(server, pike):
    brand = pike.brand
    jo = member(server, brand, ["recognition", "preferences", "suggestions"], name="Jo Self",
                answers={"usual": "Oat Latte", "cup_name": "JJ"}, dont=["receipt"])
    phone = Device(k=8)
    phone.register(server, jo)
    before = total_access_rows(server)
    t = jo["token"]
    b = brand["id"]
    reads = [
        ("GET", "/v1/me"), ("GET", "/v1/me/brands"), ("GET", f"/v1/me/brands/{b}"),
        ("GET", f"/v1/me/brands/{brand['slug']}"), ("GET", f"/v1/me/brands/{b}/preferences"),
        ("GET", f"/v1/me/brands/{b}/card"), ("GET", "/v1/me/export"), ("GET", "/v1/me/consents"),
        ("GET", "/v1/me/devices"), ("GET", f"/v1/me/devices/{phone.id}/code"),
        ("GET", "/v1/me/access-log"), ("GET", "/v1/me/access-log/verify"),
        ("GET", "/v1/sessions/current"),
    ]
    for method, path in reads:
        assert_ok(server.call(method, path, t))
    # the preview is exactly what a display would show: it did see her data
    preview = assert_ok(server.get(f"/v1/me/brands/{b}/card", t))
    assert preview["shown"] is True and preview["card"]["customer"]["name"] == "Jo Self"
    # and her writes are hers too
    assert_ok(server.put(f"/v1/me/brands/{b}/preferences", t,
                         json={"answers": {"usual": "Flat White"}, "dont": []}))
    assert_ok(server.patch("/v1/me", t, json={"name": "Jo Self-Renamed"}))
    assert access_log(server, jo) == []
    assert total_access_rows(server) == before
    assert export(server, jo)["access_log"] == []


def test_public_reads_are_not_looks(server, pike):
    brand, shop = pike.brand, pike.shop
    jo = member(server, brand, ["recognition", "preferences"])
    before = total_access_rows(server)
    for path in ["/healthz", "/v1/purposes", "/v1/brands", f"/v1/brands/{brand['id']}",
                 f"/v1/brands/{brand['slug']}", f"/v1/brands/{brand['id']}/choices",
                 f"/v1/brands/{brand['id']}/notice", f"/v1/brands/{brand['id']}/stores",
                 f"/v1/brands/{brand['id']}/stores/{shop.id}", f"/v1/stores/{shop.id}",
                 "/v1/privacy", "/v1/eid-params"]:
        assert_ok(server.get(path))
    assert access_log(server, jo) == []
    assert total_access_rows(server) == before


def test_lookups_of_non_members_are_not_looks(server, pike, elsewhere):
    brand = pike.brand
    # a customer of another brand only, and a former member who left
    outsider = member(server, elsewhere.brand, ["recognition", "preferences"])
    former = member(server, brand, ["recognition", "preferences"], answers={"usual": "Oat Latte"})
    assert_ok(server.delete(f"/v1/me/brands/{brand['id']}", former["token"]))
    stranger_id = "cus_" + secrets.token_hex(14)
    before = total_access_rows(server)
    refusals = []
    for who in (outsider, former, {"id": stranger_id}):
        for token in (pike.manager["token"], pike.admin["token"]):
            assert_problem(member_view(server, brand, who, token), 404)
        # counter staff are refused before any lookup: the same answer for anyone
        refusals.append(assert_problem(member_view(server, brand, who, pike.counter["token"]),
                                       403, "counter"))
        assert_problem(server.get(f"/v1/brands/{brand['id']}/members/{who['id']}/export",
                                  pike.admin["token"]), 404)
    # staff of one brand cannot look at a member of another through it
    assert_problem(member_view(server, brand, outsider, elsewhere.admin["token"]), 403)
    assert_problem(member_view(server, elsewhere.brand, outsider, pike.admin["token"]), 403)
    # and the member view's 404 for a non-member is the same as for no one
    a = member_view(server, brand, outsider, pike.admin["token"]).json()
    b = member_view(server, brand, {"id": stranger_id}, pike.admin["token"]).json()
    assert a == b
    assert refusals[0] == refusals[1] == refusals[2]
    assert access_log(server, outsider) == [] and access_log(server, former) == []
    assert total_access_rows(server) == before


def test_strangers_sightings_are_not_looks(server, pike, elsewhere, streams):
    brand = pike.brand
    shop = Shop(server, brand, pike.admin["token"])  # no open cards yet
    display = streams(shop)
    outsider = member(server, elsewhere.brand, ["recognition"])
    prefs_only = member(server, brand, ["preferences"], answers={"usual": "Oat Latte"})
    people = [outsider, prefs_only]
    eids = []
    for p in people:
        d = Device(k=8)
        d.register(server, p)
        eids.append(d.eid())
    before_rows = total_access_rows(server)
    before = stats(server)
    randoms = [secrets.token_hex(8) for _ in range(10)]
    shop.sight(*randoms, *eids)
    for p in people:  # the app channel and a typed code too
        r = server.post("/v1/me/presence", p["token"], json={"store": shop.id})
        assert_problem(r, (403, 404))
    assert_problem(server.post(f"/v1/stores/{shop.id}/codes", shop.display,
                               json={"code": "7K3M-Q9XD"}), (404, 422))
    display.quiet(0.4)
    after = stats(server)
    assert after["dropped_unknown"] - before["dropped_unknown"] >= 10
    assert after["visits_opened"] == before["visits_opened"]
    for p in people:
        assert access_log(server, p) == []
    assert total_access_rows(server) == before_rows

    # control: the same scanner and display show a member, and that is a look
    regular = member(server, brand, ["recognition"])
    d = Device(k=8)
    d.register(server, regular)
    shop.sight(d.eid())
    assert display.expect("card")["customer"]["name"] == regular["name"]
    wait_until(lambda: access_log(server, regular), what="the member's entry")
    assert total_access_rows(server) == before_rows + 1


def test_paging_and_brand_filter(server, pike, elsewhere):
    jo = member(server, pike.brand, ["recognition", "preferences"])
    server.join(jo, elsewhere.brand, ["recognition"])
    ids = []
    for token, brand in [(pike.manager["token"], pike.brand), (elsewhere.admin["token"], elsewhere.brand),
                         (pike.manager["token"], pike.brand), (pike.admin["token"], pike.brand),
                         (elsewhere.admin["token"], elsewhere.brand)]:
        assert_ok(member_view(server, brand, jo, token))
    full = assert_ok(server.get("/v1/me/access-log", jo["token"]))
    assert full["next"] is None and len(full["items"]) == 5
    ids = [e["id"] for e in full["items"]]
    assert ids == sorted(ids, reverse=True), "not newest first"
    assert [e["actor_role"] for e in full["items"]] == ["admin", "admin", "manager", "admin",
                                                        "manager"]
    assert [e["brand_id"] for e in full["items"]] == [elsewhere.brand["id"], pike.brand["id"],
                                                      pike.brand["id"], elsewhere.brand["id"],
                                                      pike.brand["id"]]

    # pages of two: 2 + 2 + 1, in order, no overlaps, a null cursor at the end
    pages, after = [], None
    while True:
        params = {"limit": 2}
        if after:
            params["after"] = after
        page = assert_ok(server.get("/v1/me/access-log", jo["token"], params=params))
        pages.append([e["id"] for e in page["items"]])
        after = page["next"]
        if not after:
            break
    assert pages == [ids[0:2], ids[2:4], ids[4:5]]
    page = assert_ok(server.get("/v1/me/access-log", jo["token"], params={"limit": 5}))
    assert page["next"] is None and [e["id"] for e in page["items"]] == ids

    # filtered by brand, by slug or id, and paged within the filter
    for ref in (pike.brand["slug"], pike.brand["id"]):
        f = access_log(server, jo, brand=ref)
        assert [e["id"] for e in f] == [ids[1], ids[2], ids[4]]
    f = assert_ok(server.get("/v1/me/access-log", jo["token"],
                             params={"brand": pike.brand["slug"], "limit": 2}))
    assert [e["id"] for e in f["items"]] == [ids[1], ids[2]] and f["next"] == ids[2]
    f = assert_ok(server.get("/v1/me/access-log", jo["token"],
                             params={"brand": pike.brand["slug"], "limit": 2, "after": f["next"]}))
    assert [e["id"] for e in f["items"]] == [ids[4]] and f["next"] is None
    f = access_log(server, jo, brand=elsewhere.brand["slug"])
    assert [e["id"] for e in f] == [ids[0], ids[3]]
    # a brand she never met: an empty list
    assert access_log(server, jo, brand=server.new_brand()["slug"]) == []

    assert_problem(server.get("/v1/me/access-log", jo["token"], params={"brand": "no-such-brand"}),
                   422, "brand")
    for bad in ("0", "201", "x", "-1"):
        assert_problem(server.get("/v1/me/access-log", jo["token"], params={"limit": bad}),
                       422, "limit")
    assert_problem(server.get("/v1/me/access-log", jo["token"], params={"after": "a b"}),
                   422, "after")
    # another customer's log is not hers, and it needs a customer token
    other = server.new_customer()
    assert access_log(server, other) == []
    for token in (pike.admin["token"], server.op_token, pike.shop.display):
        assert_problem(server.get("/v1/me/access-log", token), 403)
    assert_problem(server.get("/v1/me/access-log"), 401)


def test_no_staff_members_personal_name_in_any_entry(server, pike, streams):
    jo = member(server, pike.brand, ["recognition", "preferences"], answers={"usual": "Flat White"})
    shop = Shop(server, pike.brand, pike.admin["token"])
    display = streams(shop)
    phone = Device(k=8)
    phone.register(server, jo)
    for role in ("manager", "admin"):
        assert_ok(member_view(server, pike.brand, jo, pike.staff[role]["token"]))
    # (counter staff cannot open a profile, so they leave no entry)
    assert_problem(member_view(server, pike.brand, jo, pike.counter["token"]), 403)
    assert_ok(server.get(f"/v1/brands/{pike.brand['id']}/members/{jo['id']}/export",
                         pike.admin["token"]))
    shop.sight(phone.eid())
    display.expect("card")
    log = wait_until(lambda: (lambda l: l if len(l) == 4 else None)(access_log(server, jo)),
                     what="four entries")
    assert {e["actor_kind"] for e in log} == {"staff", "export", "display"}
    texts = [json.dumps(log, ensure_ascii=False),
             json.dumps(export(server, jo)["access_log"], ensure_ascii=False)]
    for needle in staff_secrets(pike):
        for text in texts:
            assert needle not in text, f"{needle!r} in the customer's access log"
    # and the database row holds no more than the API shows
    con = server.db_connect()
    try:
        rows = con.execute("SELECT * FROM access_log WHERE customer_id = ?", (jo["id"],)).fetchall()
    finally:
        con.close()
    assert len(rows) == 4
    for needle in staff_secrets(pike):
        assert needle not in repr(rows)
