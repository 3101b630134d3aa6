"""Recognition (issue 3): strangers leave no trace (no row in any table, no
log line, only aggregate counters), sightings batches (size limit, the first
bad item named, nothing of a rejected batch applied, an answer that never
says who resolved), and replay suspicion across cities."""
import secrets
from types import SimpleNamespace

import pytest

from conftest import assert_ok, assert_problem
from recog_support import (CHOICES, Device, Shop, db_rows, member, mid_window_offset, stats,
                           table_snapshot)


@pytest.fixture(scope="module")
def shopco(server):
    b = server.new_brand(name="Privacy Test Coffee", choices=CHOICES)
    admin = server.new_staff(b, "admin")
    return SimpleNamespace(brand=b, admin=admin)


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


def random_eids(n):
    return [secrets.token_hex(8) for _ in range(n)]


def keys_in_use(server, shop):
    """Uses the shop's keys once before a snapshot: a key's last use is
    written at its first request and then at most once a minute, and it is
    the device's own bookkeeping, not a trace of any shopper."""
    for key in (shop.scanner, shop.display):
        assert assert_ok(server.get("/v1/sessions/current", key))["store_id"] == shop.id


def test_strangers_leave_no_trace(server, shopco, streams):
    brand = shopco.brand
    shop = Shop(server, brand, shopco.admin["token"])
    other = server.new_brand(name="Somewhere Else", choices=CHOICES)
    # a member of another brand only, a member who did not grant recognition,
    # and a former member who left: each with a registered device
    outsider = member(server, other, ["recognition", "preferences"])
    prefs_only = member(server, brand, ["preferences"], answers={"usual": "Oat Latte"})
    former = member(server, brand, ["recognition"])
    assert_ok(server.delete(f"/v1/me/brands/{brand['id']}", former["token"]))
    devices = {}
    for who in (outsider, prefs_only, former):
        d = Device(k=8)
        d.register(server, who)
        devices[who["id"]] = d
    # and a member, to show the path works when it should
    regular = member(server, brand, ["recognition"])
    rd = Device(k=8)
    rd.register(server, regular)

    display = streams(shop)
    display.quiet(0.2)
    keys_in_use(server, shop)
    snap = table_snapshot(server)
    assert "visits" in snap and "access_log" in snap and "devices" in snap
    before = stats(server)

    randoms = random_eids(25)
    known = [d.eid() for d in devices.values()]
    shop.sight(*randoms[:20])
    for e in known:
        shop.sight(e)
    shop.sight(randoms[20], known[0], randoms[21], known[1], randoms[22], known[2],
               randoms[23], randoms[24])

    display.quiet(0.4)
    assert shop.cards() == []
    after = stats(server)
    assert after["received"] == before["received"] + 20 + 3 + 8
    assert after["dropped_unknown"] == before["dropped_unknown"] + 25
    assert after["dropped_not_member"] == before["dropped_not_member"] + 6
    assert after["resolved"] == before["resolved"] + 6
    assert after["presences"] == before["presences"]
    assert after["visits_opened"] == before["visits_opened"]
    now = table_snapshot(server)
    changed = {t: (snap.get(t), now.get(t)) for t in set(snap) | set(now)
               if snap.get(t) != now.get(t)}
    assert not changed, f"tables changed by strangers' sightings: {changed}"

    # nothing in the log identifies the devices or their owners
    log = server.stderr()
    needles = randoms + known + [d.id for d in devices.values()] + list(devices)
    for n in needles:
        assert n not in log and n.upper() not in log, f"{n} in the server log"

    # control: the member is shown by the same scanner and display
    shop.sight(rd.eid())
    assert display.expect("card")["customer"]["name"] == regular["name"]


def test_statistics_are_for_the_operator_only(server, shopco):
    shop = Shop(server, shopco.brand, shopco.admin["token"])
    s = stats(server)
    for k in ("received", "resolved", "dropped_unknown", "dropped_not_member", "collisions",
              "replay_flagged", "visits_opened", "visits_closed"):
        assert isinstance(s[k], int) and s[k] >= 0, (k, s)
    for token in (shopco.admin["token"], shop.scanner, shop.display,
                  server.new_customer()["token"]):
        assert_problem(server.get("/v1/recognition/stats", token), 403)
    assert_problem(server.get("/v1/recognition/stats"), 401)


@pytest.fixture(scope="module")
def batch_world(server, shopco):
    shop = Shop(server, shopco.brand, shopco.admin["token"])
    c = member(server, shopco.brand, ["recognition"])
    d = Device(k=8)
    d.register(server, c)
    return SimpleNamespace(shop=shop, customer=c, device=d)


def test_batch_size_limit(server, batch_world):
    shop = batch_world.shop
    before = stats(server)
    items = [{"eid": e, "rssi": -70} for e in random_eids(5001)]
    r = server.post("/v1/sightings", shop.scanner, json={"sightings": items})
    assert_problem(r, 413, "sightings")
    assert stats(server)["received"] == before["received"]
    r = server.post("/v1/sightings", shop.scanner, json={"sightings": items[:5000]})
    assert assert_ok(r, 202) == {"received": 5000}
    assert stats(server)["received"] == before["received"] + 5000
    assert assert_ok(server.post("/v1/sightings", shop.scanner, json={"sightings": []}),
                     202) == {"received": 0}


def test_max_sightings_flag(server_factory):
    srv = server_factory(extra_args=["--max-sightings", "3"])
    b = srv.new_brand(choices=CHOICES)
    shop = Shop(srv, b, srv.op_token)
    eids = random_eids(4)
    assert_problem(srv.post("/v1/sightings", shop.scanner,
                            json={"sightings": [{"eid": e} for e in eids]}), 413, "3")
    assert stats(srv)["received"] == 0
    assert assert_ok(srv.post("/v1/sightings", shop.scanner,
                              json={"sightings": [{"eid": e} for e in eids[:3]]}),
                     202) == {"received": 3}


BAD_ITEMS = [
    ("eid-not-hex", {"eid": "zz" * 8, "rssi": -60}, "eid"),
    ("eid-short", {"eid": "ab" * 7 + "a", "rssi": -60}, "eid"),
    ("eid-long", {"eid": "ab" * 9, "rssi": -60}, "eid"),
    ("eid-missing", {"rssi": -60}, "eid"),
    ("eid-number", {"eid": 1234567890123456, "rssi": -60}, "eid"),
    ("item-string", "0123456789abcdef", None),
    ("item-null", None, None),
    ("item-list", ["0123456789abcdef"], None),
    ("rssi-high", {"eid": "00" * 8, "rssi": 21}, "rssi"),
    ("rssi-low", {"eid": "00" * 8, "rssi": -128}, "rssi"),
    ("rssi-string", {"eid": "00" * 8, "rssi": "-60"}, "rssi"),
    ("rssi-fraction", {"eid": "00" * 8, "rssi": -60.5}, "rssi"),
    ("seen-words", {"eid": "00" * 8, "seen_at": "yesterday"}, "seen_at"),
    ("seen-number", {"eid": "00" * 8, "seen_at": 1700000000}, "seen_at"),
    ("seen-bad-date", {"eid": "00" * 8, "seen_at": "2024-13-45T00:00:00Z"}, "seen_at"),
]


@pytest.mark.parametrize("case,item,field", BAD_ITEMS, ids=[b[0] for b in BAD_ITEMS])
def test_malformed_item_rejects_the_whole_batch(server, batch_world, case, item, field):
    shop, d = batch_world.shop, batch_world.device
    keys_in_use(server, shop)
    snap = table_snapshot(server)
    before = stats(server)
    # a good member EID first, the bad item at index 2, another bad one after
    batch = [{"eid": d.eid(), "rssi": -55}, {"eid": secrets.token_hex(8)}, item,
             {"eid": "nothex!!"}]
    r = server.post("/v1/sightings", shop.scanner, json={"sightings": batch})
    body = assert_problem(r, 422, "sightings[2]")
    assert "sightings[3]" not in body["detail"]
    if field:
        assert field in body["detail"], body
    assert "received" not in r.text
    # (a card is published before the answer: the list would show it now)
    assert shop.cards() == []
    assert stats(server) == before
    assert table_snapshot(server) == snap


def test_batch_shape(server, batch_world):
    shop = batch_world.shop
    # the first bad index is the one named
    r = server.post("/v1/sightings", shop.scanner,
                    json={"sightings": [{"eid": "00" * 8}, {"eid": "x"}, {"eid": "00" * 8},
                                        {"eid": "y"}]})
    assert_problem(r, 422, "sightings[1]")
    for body in ({}, {"sightings": "0011223344556677"}, {"sightings": {"eid": "00" * 8}},
                 {"sightings": None}):
        assert_problem(server.post("/v1/sightings", shop.scanner, json=body), 422, "sightings")
    assert_problem(server.post("/v1/sightings", shop.scanner, json=[{"eid": "00" * 8}]), 400)
    assert_problem(server.post("/v1/sightings", shop.scanner, data="not json",
                               headers={"Content-Type": "application/json"}), 400)
    # optional fields: rssi and seen_at may be absent or null; uppercase hex is hex
    ok = [{"eid": "AB" * 8}, {"eid": "00" * 8, "rssi": None, "seen_at": None},
          {"eid": "01" * 8, "rssi": -127}, {"eid": "02" * 8, "rssi": 20},
          {"eid": "03" * 8, "seen_at": "2024-05-01T10:00:00Z"},
          {"eid": "04" * 8, "seen_at": "2024-05-01T10:00:00.123+02:00"}]
    assert assert_ok(server.post("/v1/sightings", shop.scanner, json={"sightings": ok}),
                     202) == {"received": len(ok)}


def test_answer_never_says_who_resolved(server, batch_world, streams):
    shop, d = batch_world.shop, batch_world.device
    fresh = Shop(server, shop.brand, server.op_token)
    display = streams(fresh)
    answers = []
    for eid in (d.eid(), secrets.token_hex(8)):
        r = server.post("/v1/sightings", fresh.scanner, json={"sightings": [{"eid": eid}]})
        answers.append(r)
    display.expect("card")  # the first one did resolve
    member_r, stranger_r = answers
    assert member_r.status_code == stranger_r.status_code == 202
    assert member_r.json() == stranger_r.json() == {"received": 1}
    skip = {"date", "content-length"}
    assert {k.lower(): v for k, v in member_r.headers.items() if k.lower() not in skip} == \
        {k.lower(): v for k, v in stranger_r.headers.items() if k.lower() not in skip}


def test_replay_suspicion(server, shopco, streams):
    brand = shopco.brand
    token = shopco.admin["token"]
    seattle = Shop(server, brand, token, city="Seattle")
    seattle2 = Shop(server, brand, token, city="Seattle")
    portland = Shop(server, brand, token, city="Portland")
    c = member(server, brand, ["recognition"])
    d = Device(k=10, offset=mid_window_offset(10))
    d.register(server, c)
    s_sea, s_sea2, s_pdx = streams(seattle), streams(seattle2), streams(portland)
    seattle.sight(d.eid())
    s_sea.expect("card")
    # another store in the same city is fine
    seattle2.sight(d.eid())
    s_sea2.expect("card")
    before = stats(server)
    # the same EID heard in another city within the window: a replay
    portland.sight(d.eid())
    s_pdx.quiet(0.4)
    assert portland.cards() == []
    after = stats(server)
    assert after["replay_flagged"] == before["replay_flagged"] + 1
    assert after["visits_opened"] == before["visits_opened"]
    assert db_rows(server, "SELECT count(*) FROM visits WHERE store_id = ?", portland.id) == [(0,)]
    # the visit where it was really heard goes on
    assert len(seattle.cards()) == 1
