"""Recognition (issue 3): visits close after the quiet time (a dedicated
server with --visit-quiet 3), presences keep them open, a later presence
opens a new visit; and the resolution index is rebuilt from the database
at start (with a wider --eid-tolerance)."""
import time

from conftest import assert_ok
from recog_support import (CHOICES, Device, EventStream, Shop, db_rows, member,
                           mid_window_offset, stats)

QUIET = 3


def rfc3339_ago(seconds):
    t = time.time() - seconds
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


def test_visits_close_after_the_quiet_time(server_factory):
    srv = server_factory(extra_args=["--visit-quiet", str(QUIET)])
    b = srv.new_brand(choices=CHOICES)
    shop = Shop(srv, b, srv.op_token)
    x = member(srv, b, ["recognition"], name="Xavier Brief")
    y = member(srv, b, ["recognition"], name="Yara Lingers")
    z = member(srv, b, ["recognition"], name="Zed Late")
    dx, dy, dz = Device(k=8), Device(k=8), Device(k=8)
    for c, d in ((x, dx), (y, dy), (z, dz)):
        d.register(srv, c)
    display = EventStream(srv, shop.id, shop.display)
    try:
        shop.sight(dx.eid(), dy.eid())
        heard_x = time.monotonic()
        shown = [display.expect("card"), display.expect("card")]
        cards = {c["customer"]["name"]: c for c in shown}
        assert set(cards) == {"Xavier Brief", "Yara Lingers"}
        assert sorted(c["visit"] for c in shop.cards()) == sorted(c["visit"] for c in shown)
        # Zed is heard now, in a batch that also reports an older sighting
        # of him first (from QUIET - 0.25 s ago), then that late report
        # again on its own. His visit's last presence is now: it cannot
        # close before QUIET s from now. (Were it taken from the late
        # reports, it would close within ~2.3 s, before Xavier's.)
        late = {"eid": dz.eid(), "seen_at": rfc3339_ago(QUIET - 0.25)}
        assert_ok(srv.post("/v1/sightings", shop.scanner,
                           json={"sightings": [late, {"eid": dz.eid()}]}), 202)
        heard_z = time.monotonic()
        late["seen_at"] = rfc3339_ago(QUIET - 0.25)
        assert_ok(srv.post("/v1/sightings", shop.scanner, json={"sightings": [late]}), 202)
        zed = display.expect("card")
        assert zed["customer"]["name"] == "Zed Late"
        # Yara is heard every half second; Xavier is not heard again
        gone = None
        deadline = heard_x + 2 * QUIET + 3
        while gone is None and time.monotonic() < deadline:
            ev = display.next(timeout=0.5)
            if ev is None:
                shop.sight(dy.eid())
                continue
            if ev == ("gone", {"visit": zed["visit"]}):
                assert time.monotonic() - heard_z >= QUIET - 0.4, \
                    "a late report moved Zed's last presence back in time"
                continue
            assert ev == ("gone", {"visit": cards["Xavier Brief"]["visit"]}), ev
            gone = time.monotonic()
        assert gone, "Xavier's visit did not close after the quiet time"
        assert gone - heard_x >= QUIET - 0.5, "closed before the quiet time"
        # Yara's presences kept her one visit open
        assert cards["Yara Lingers"]["visit"] in [c["visit"] for c in shop.cards()]
        rows = dict((r[0], r[1:]) for r in db_rows(
            srv, "SELECT id, closed_at, close_reason FROM visits"))
        assert rows[cards["Yara Lingers"]["visit"]] == (None, None)
        closed_at, reason = rows[cards["Xavier Brief"]["visit"]]
        assert closed_at and reason == "quiet"
        # Xavier comes back: a new visit, a new card
        shop.sight(dx.eid())
        while True:
            ev = display.next(timeout=3)
            assert ev is not None, "no card for Xavier's new visit"
            if ev[0] == "gone" and ev[1]["visit"] == zed["visit"]:
                continue
            assert ev[0] == "card", ev
            break
        again = ev[1]
        assert again["customer"]["name"] == "Xavier Brief"
        assert again["visit"] != cards["Xavier Brief"]["visit"]
        s = stats(srv)
        assert s["visits_opened"] == 4 and s["visits_closed"] in (1, 2)
    finally:
        display.close()


def test_index_is_rebuilt_from_the_database(server_factory):
    first = server_factory()
    b = first.new_brand(choices=CHOICES)
    shop = Shop(first, b, first.op_token)
    c = member(first, b, ["recognition"], name="Remy Restart")
    d = Device(k=10, offset=mid_window_offset(10))
    d.register(first, c)
    params = assert_ok(first.get("/v1/eid-params"))
    shop.sight(d.eid())
    (visit,) = [c["visit"] for c in shop.cards()]
    assert first.stop() == 0
    # the open visit ended with the process that held it: no visit row
    # stays open for ever
    closed_at, reason = db_rows(first, "SELECT closed_at, close_reason FROM visits "
                                       "WHERE id = ?", visit)[0]
    assert closed_at is not None and reason

    again = server_factory(db=first.db, extra_args=["--eid-tolerance", "2"])
    # the same resolver key pair, sealed in the database
    assert assert_ok(again.get("/v1/eid-params"))["public_key"] == params["public_key"]
    assert stats(again)["devices"] == 1
    display = EventStream(again, shop.id, shop.display)
    try:
        assert display.status == 200
        before = stats(again)
        # two windows ahead resolves now (tolerance 2), three does not
        shop.server = again
        shop.sight(d.eid(windows=2))
        card = display.expect("card")
        assert card["customer"] == {"name": "Remy Restart"}
        shop.sight(d.eid(windows=3), d.eid(windows=-3))
        after = stats(again)
        assert after["resolved"] == before["resolved"] + 1
        assert after["dropped_unknown"] == before["dropped_unknown"] + 2
    finally:
        display.close()
