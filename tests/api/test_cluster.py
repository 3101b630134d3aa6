"""Three `serve` nodes on loopback, on one PostgreSQL, talking over NATS
(issue 12; the `nodes` fixture, A, B and C; some tests need only two): a
card opened on one node shows on displays streaming from the two others; a
device registered at one node resolves at the others; a withdrawal at one
node takes the card off every display, on all three nodes, within a
second; kill -9 of one node under load leaves the two others serving and
talking to each other; with NATS killed
each node keeps serving its own displays and says it is degraded, and the
nodes find each other again when NATS is back. Changes made while NATS is
away still reach every node within a few seconds, through the outbox table
in PostgreSQL (migration 0013, src/service/outbox.c): a device registered
or deleted, a grant withdrawn, an account erased. Runs in the PostgreSQL
pass (nodes share a database only there) with a real nats-server."""
import hashlib
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid

import pytest
import requests

from conftest import PG, RFC3339_UTC, assert_ok, connect, free_port
from privacy_support import cells_containing
from recog_support import Device, EventStream, Shop, member, stats

pytestmark = pytest.mark.skipif(not PG, reason="nodes share a PostgreSQL database")

CHOICES = [{"key": "usual", "label": "The usual", "kind": "text", "purpose": "preferences"}]


class Nats:
    def __init__(self, tmp_path):
        if not shutil.which("nats-server"):
            pytest.fail("nats-server is not installed: run scripts/install-deps.sh --test")
        self.port = free_port()
        self.log = tmp_path / "nats.log"
        self.proc = None
        self.start()

    @property
    def url(self):
        return f"nats://127.0.0.1:{self.port}"

    def start(self):
        self.proc = subprocess.Popen(["nats-server", "-a", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nats-server did not start")

    def kill(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def nats(tmp_path):
    n = Nats(tmp_path)
    yield n
    if n.proc.poll() is None:
        n.kill()


@pytest.fixture
def nodes(server_factory, nats):
    """Nodes A, B and C on one database and one NATS server, all connected."""
    a = server_factory(extra_args=["--nats", nats.url, "--node", "node-a"])
    b = server_factory(db=a.db, extra_args=["--nats", nats.url, "--node", "node-b"])
    c = server_factory(db=a.db, extra_args=["--nats", nats.url, "--node", "node-c"])
    for n in (a, b, c):
        wait_for(lambda n=n: health(n).get("nats", {}).get("connected"), f"{n.port} on NATS")
    return a, b, c


def health(srv):
    return assert_ok(srv.get("/healthz"))


def wait_for(pred, what, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"waited {timeout} s for {what}")


def shop_with_member(srv, name):
    """A brand with a store, its admin, and a member with recognition whose
    phone is registered at srv: (brand, admin token, shop, member, phone)."""
    brand = srv.new_brand()
    admin = srv.new_staff(brand)["token"]
    shop = Shop(srv, brand, admin)
    who = member(srv, brand, ["recognition"], name=name)
    phone = Device()
    phone.register(srv, who)
    return brand, admin, shop, who, phone


def sight_at(srv, shop, eid):
    r = srv.post("/v1/sightings", shop.scanner, json={"sightings": [{"eid": eid, "rssi": -60}]})
    assert_ok(r, 202)


def resolved(srv):
    return assert_ok(srv.get("/v1/recognition/stats", srv.op_token))["resolved"]


def test_cards_and_changes_cross_nodes(nodes):
    """A card opened at A shows at B and C; a withdrawal at B takes every
    card off every display, C's too, within a second."""
    a, b, c = nodes
    brand = a.new_brand(choices=CHOICES)
    admin = a.new_staff(brand)["token"]
    shop = Shop(a, brand, admin)
    other = Shop(a, brand, admin)
    ann = member(a, brand, ["recognition", "preferences"], name="Ann Across-Nodes",
                 answers={"usual": "Oat flat white"})
    phone = Device()
    phone.register(a, ann)  # at node A

    on_b = EventStream(b, shop.id, shop.display)
    on_c = EventStream(c, shop.id, shop.display)
    on_a = EventStream(a, other.id, other.display)
    assert on_b.status == 200 and on_c.status == 200 and on_a.status == 200
    try:
        # a sighting at A puts the card on B's display and on C's
        sight_at(a, shop, phone.eid())
        card = on_b.expect("card")
        assert card["customer"]["name"] == "Ann Across-Nodes"
        assert "Oat flat white" in json.dumps(card)  # her answers travel with it
        card_c = on_c.expect("card")
        assert card_c["visit"] == card["visit"]
        assert card_c["customer"]["name"] == "Ann Across-Nodes"
        assert "Oat flat white" in json.dumps(card_c)

        # the device registered at A resolves at B, within a second; the card
        # B opens shows on A's display
        t0 = time.monotonic()
        before = resolved(b)
        wait_for(lambda: (sight_at(b, other, phone.eid()) or resolved(b) > before),
                 "B to resolve a device registered at A", timeout=1.0)
        assert time.monotonic() - t0 < 1.0
        card2 = on_a.expect("card")
        assert card2["customer"]["name"] == "Ann Across-Nodes"

        # withdrawn at B: both cards leave every display within a second,
        # the one on C (which neither opened the visit nor took the change)
        # too
        t0 = time.monotonic()
        assert_ok(b.put(f"/v1/me/brands/{brand['id']}", ann["token"],
                        json={"purposes": ["preferences"]}))
        gone_b = on_b.expect("gone", timeout=1.0)
        gone_c = on_c.expect("gone", timeout=1.0)
        gone_a = on_a.expect("gone", timeout=1.0)
        took = time.monotonic() - t0
        assert gone_b["visit"] == card["visit"] and gone_a["visit"] == card2["visit"]
        assert gone_c == {"visit": card["visit"]}
        assert took < 1.0, took
        on_c.quiet(0.1)  # the card only, not the other store's
        # and no node shows a card of hers any more
        assert shop.cards() == [] and assert_ok(
            b.get(f"/v1/stores/{other.id}/cards", other.display))["items"] == []
        assert assert_ok(c.get(f"/v1/stores/{shop.id}/cards", shop.display))["items"] == []
    finally:
        on_a.close()
        on_b.close()
        on_c.close()
    m = a.get("/metrics", a.op_token).text
    assert 'shopkeeper_nats_connected 1' in m
    assert 'shopkeeper_cluster_events_total{kind="card",direction="out"}' in m


def test_a_device_deleted_at_one_node_stops_resolving_at_the_other(nodes):
    a, b, _ = nodes
    _, _, shop, bo, phone = shop_with_member(a, "Bo Deleted")
    before = resolved(b)
    wait_for(lambda: (sight_at(b, shop, phone.eid()) or resolved(b) > before), "B resolves")
    assert_ok(a.delete(f"/v1/me/devices/{phone.id}", bo["token"]))

    def unknown_at_b():
        n = assert_ok(b.get("/v1/recognition/stats", b.op_token))["dropped_unknown"]
        sight_at(b, shop, phone.eid())
        return assert_ok(b.get("/v1/recognition/stats", b.op_token))["dropped_unknown"] == n + 1

    wait_for(unknown_at_b, "B to stop resolving a device deleted at A", timeout=1.0)


def test_nats_down_each_node_serves_its_own_and_rejoins(nodes, nats):
    a, b, _ = nodes
    brand, admin, shop, _, phone = shop_with_member(a, "Cy Alone")
    nats.kill()
    for n in (a, b):
        h = wait_for(lambda n=n: (lambda h: h if h["status"] == "degraded" else None)(health(n)),
                     "degraded health")
        assert h["nats"]["connected"] is False
        # the catch-up path still reads the database every second
        assert h["outbox"]["seconds_since"] <= 2, h
        assert RFC3339_UTC.match(h["outbox"]["last_read"]), h
    metrics = a.get("/metrics", a.op_token).text
    assert "shopkeeper_nats_connected 0" in metrics
    age = float(re.search(r"^shopkeeper_outbox_read_age_seconds (\S+)$", metrics, re.M).group(1))
    assert 0 <= age <= 2.5, age
    # A still serves its own display
    on_a = EventStream(a, shop.id, shop.display)
    try:
        sight_at(a, shop, phone.eid())
        assert on_a.expect("card")["customer"]["name"] == "Cy Alone"
    finally:
        on_a.close()
    nats.start()
    for n in (a, b):
        wait_for(lambda n=n: health(n)["status"] == "ok", "ok again", timeout=10)
    # and the nodes hear each other again
    other = Shop(a, brand, admin)
    on_b = EventStream(b, other.id, other.display)
    try:
        time.sleep(0.3)
        sight_at(a, other, phone.eid())
        assert on_b.expect("card", timeout=3)["customer"]["name"] == "Cy Alone"
    finally:
        on_b.close()


def open_visits(srv, shop, customer_id):
    with srv.db_connect() as db:
        return [r[0] for r in db.execute(
            "SELECT id FROM visits WHERE store_id = ? AND customer_id = ? "
            "AND closed_at IS NULL", (shop.id, customer_id))]


def test_one_visit_and_one_card_whichever_node_hears_the_shopper(nodes):
    """The store's scanners post to different nodes: one visit, one card;
    a display that connects to the other node gets it; Served there shows
    everywhere."""
    a, b, _ = nodes
    _, _, shop, dee, phone = shop_with_member(a, "Dee Both-Nodes")
    on_a, on_b = EventStream(a, shop.id, shop.display), EventStream(b, shop.id, shop.display)
    try:
        sight_at(a, shop, phone.eid())
        card = on_a.expect("card")
        assert on_b.expect("card")["visit"] == card["visit"]
        for _ in range(3):  # heard at B too, and at A again
            sight_at(b, shop, phone.eid())
            sight_at(a, shop, phone.eid())
        on_a.quiet(0.5)
        on_b.quiet(0.1)
        assert open_visits(a, shop, dee["id"]) == [card["visit"]]
        assert assert_ok(b.get("/v1/recognition/stats", b.op_token))["visits_joined"] == 1

        # a display that (re)connects to B gets the card A opened
        late = EventStream(b, shop.id, shop.display)
        try:
            assert late.expect("card")["visit"] == card["visit"]
            late.quiet(0.3)
        finally:
            late.close()
        # Served tapped on B's display: every display shows it served
        assert_ok(b.post(f"/v1/stores/{shop.id}/cards/{card['visit']}/served", shop.display,
                         json={}))
        assert on_a.expect("update")["served"] is True
        assert on_b.expect("update")["served"] is True
        assert [c["served"] for c in shop.cards()] == [True]  # A's table follows
    finally:
        on_a.close()
        on_b.close()


def test_a_dead_nodes_visits_close_when_nobody_hears_the_shopper(server_factory, nats):
    """kill -9 of the node that opened a visit: when no node hears the
    shopper for the quiet time (2 s here), another node closes it and its
    card leaves the displays; a shopper still heard keeps their visit."""
    args = ["--nats", nats.url, "--visit-quiet", "2"]
    a = server_factory(extra_args=[*args, "--node", "node-a"])
    b = server_factory(db=a.db, extra_args=[*args, "--node", "node-b"])
    for n in (a, b):
        wait_for(lambda n=n: health(n).get("nats", {}).get("connected"), "on NATS")
    brand, admin, shop, eve, phone = shop_with_member(a, "Eve Left-Behind")
    stayer = member(a, brand, ["recognition"], name="Fay Stays")
    fay_phone = Device()
    fay_phone.register(a, stayer)
    on_b = EventStream(b, shop.id, shop.display)
    try:
        sight_at(a, shop, phone.eid())
        sight_at(a, shop, fay_phone.eid())
        eve_card, fay_card = on_b.expect("card"), on_b.expect("card")
        if eve_card["customer"]["name"] != "Eve Left-Behind":
            eve_card, fay_card = fay_card, eve_card
        a.kill()
        t0 = time.monotonic()
        deadline = t0 + 15
        gone = None
        while time.monotonic() < deadline and gone is None:
            sight_at(b, shop, fay_phone.eid())  # Fay is still in the shop, heard at B
            ev = on_b.next(timeout=0.5)
            if ev and ev[0] == "gone":
                gone = ev[1]
        assert gone == {"visit": eve_card["visit"]}, on_b.seen
        took = time.monotonic() - t0
        assert took > 1.5, took  # not before the quiet time
        with b.db_connect() as db:
            reason = db.execute("SELECT close_reason FROM visits WHERE id = ?",
                                (eve_card["visit"],)).fetchone()[0]
        assert reason == "quiet"
        assert open_visits(b, shop, stayer["id"]) == [fay_card["visit"]]
        at_b = assert_ok(b.get(f"/v1/stores/{shop.id}/cards", shop.display))["items"]
        assert [c["visit"] for c in at_b] == [fay_card["visit"]]
    finally:
        on_b.close()


def test_kill_9_of_a_node_under_load(nodes):
    """Purchases go to all three nodes; A dies by kill -9 mid-load. B and C
    keep serving, and keep talking: Served tapped at B shows on a display
    that stayed on C through the kill; a display that was on A reconnects
    to C and gets the current card; every acknowledged purchase is in the
    database; A comes back with nothing done by hand and carries on the
    same visit."""
    a, b, c = nodes
    brand, admin, shop, gil, phone = shop_with_member(a, "Gil Survivor")
    assert_ok(a.put(f"/v1/brands/{brand['id']}/items/tea", admin,
                    json={"title": "Tea", "category": "drinks"}), 201)
    on_a, on_c = EventStream(a, shop.id, shop.display), EventStream(c, shop.id, shop.display)
    sight_at(b, shop, phone.eid())
    card = on_a.expect("card")
    assert on_c.expect("card")["visit"] == card["visit"]

    acked, stop, failures = [], threading.Event(), {"a": 0, "b": 0, "c": 0}
    targets = [(a, "a"), (b, "b"), (c, "c")]

    def load():
        i = 0
        while not stop.is_set():
            srv, name = targets[i % 3]
            i += 1
            try:
                r = requests.post(srv.url(f"/v1/brands/{brand['id']}/purchases"),
                                  headers={"Authorization": f"Bearer {admin}",
                                           "Idempotency-Key": str(uuid.uuid4())},
                                  json={"store": shop.id, "customer": gil["id"],
                                        "lines": [{"sku": "tea", "qty": 1, "price": 2.5}]},
                                  timeout=5)
                if r.status_code == 201:
                    acked.append((name, r.json()["id"]))
            except requests.RequestException:
                failures[name] += 1  # not acknowledged: nothing is owed

    def acked_by(names, since=0, each=1):
        return all(sum(1 for n, _ in acked[since:] if n == name) >= each for name in names)

    worker = threading.Thread(target=load)
    worker.start()
    try:
        wait_for(lambda: acked_by("abc", each=3), "purchases acknowledged by all three nodes",
                 timeout=15)
        before_kill = len(acked)
        a.kill()
        on_a.close()
        wait_for(lambda: acked_by("bc", since=before_kill, each=5),
                 "B and C to go on acknowledging purchases after the kill", timeout=15)
        stop.set()
        worker.join(timeout=10)
        assert failures["b"] == 0 and failures["c"] == 0, failures

        # the two that are left still talk: Served tapped on B's display
        # shows on the display that stayed on C
        assert_ok(b.post(f"/v1/stores/{shop.id}/cards/{card['visit']}/served", shop.display,
                         json={}))
        update = on_c.expect("update")
        assert update["visit"] == card["visit"] and update["served"] is True

        # the display that was on A reconnects through the load balancer, to
        # C: the same card, served
        moved = EventStream(c, shop.id, shop.display)
        try:
            again = moved.expect("card")
            assert again["visit"] == card["visit"] and again["served"] is True

            # no acknowledged write is lost
            ids = [i for _, i in acked]
            with c.db_connect() as db:
                found = {r[0] for r in db.execute(
                    "SELECT id FROM purchases WHERE id IN (%s)" % ",".join("?" * len(ids)), ids)}
            assert found == set(ids), f"{len(set(ids) - found)} acknowledged purchases lost"

            # A restarts as it was and catches up by itself: it resolves the
            # phone, joins the open visit, and its display sees the card
            a.start()
            wait_for(lambda: health(a).get("nats", {}).get("connected"), "A back on NATS")
            sight_at(a, shop, phone.eid())
            on_c.quiet(0.5)  # the same visit: no second card
            moved.quiet(0.1)
            assert [x["visit"] for x in shop.cards()] == [card["visit"]]
            assert open_visits(a, shop, gil["id"]) == [card["visit"]]
        finally:
            moved.close()
    finally:
        stop.set()
        worker.join(timeout=10)
        on_c.close()


# ---- catch-up through the outbox (NATS down) ------------------------------------

CATCH_UP_S = 3.0  # the outbox is read every second; a loaded machine gets slack


def caught_up(srv):
    """Changes srv applied from the outbox (its /metrics)."""
    for line in srv.get("/metrics", srv.op_token).text.splitlines():
        if line.startswith('shopkeeper_cluster_events_total{kind="change",direction="caught_up"}'):
            return int(line.split()[-1])
    raise AssertionError("no caught_up series in /metrics")


def nats_down(nats, *nodes):
    nats.kill()
    for n in nodes:
        wait_for(lambda n=n: health(n)["status"] == "degraded", "degraded health")


def nats_up(nats, *nodes):
    nats.start()
    for n in nodes:
        wait_for(lambda n=n: health(n)["status"] == "ok", "ok again", timeout=10)


def resolves_at(srv, shop, device):
    """Sights device at srv; True when srv resolved it."""
    before = stats(srv)["resolved"]
    sight_at(srv, shop, device.eid())
    return stats(srv)["resolved"] > before


def unknown_at(srv, shop, device):
    """Sights device at srv; True when srv did not know it."""
    before = stats(srv)["dropped_unknown"]
    sight_at(srv, shop, device.eid())
    return stats(srv)["dropped_unknown"] > before


def test_with_nats_down_devices_and_withdrawals_reach_the_other_node(nodes, nats):
    a, b, _ = nodes
    brand, admin, shop, eve, phone = shop_with_member(a, "Eve Catch-Up")
    wait_for(lambda: resolves_at(b, shop, phone), "B resolves the phone over NATS")
    nats_down(nats, a, b)
    applied = caught_up(b)
    try:
        # a device registered at A while NATS is down resolves at B
        watch = Device()
        watch.register(a, eve, name="My watch")
        t0 = time.monotonic()
        wait_for(lambda: resolves_at(b, shop, watch), "B to resolve a device registered at A",
                 timeout=CATCH_UP_S)
        assert time.monotonic() - t0 < CATCH_UP_S

        # B holds her visit and shows her card; a withdrawal at A takes it off
        # B's display, and B resolves her devices to no card any more
        on_b = EventStream(b, shop.id, shop.display)
        assert on_b.status == 200
        try:
            card = wait_for(lambda: assert_ok(b.get(f"/v1/stores/{shop.id}/cards",
                                                    shop.display))["items"], "B's card")[0]
            assert card["customer"]["name"] == "Eve Catch-Up"
            t0 = time.monotonic()
            assert_ok(a.put(f"/v1/me/brands/{brand['id']}", eve["token"],
                            json={"purposes": ["preferences"]}))
            ev = None
            while ev is None or ev[0] != "gone":  # a card may come first
                ev = on_b.next(timeout=CATCH_UP_S)
                assert ev is not None, f"no gone at B within {CATCH_UP_S} s: {on_b.seen}"
            assert ev[1] == {"visit": card["visit"]}
            assert time.monotonic() - t0 < CATCH_UP_S
        finally:
            on_b.close()
        before = stats(b)
        sight_at(b, shop, phone.eid())
        assert stats(b)["visits_opened"] == before["visits_opened"]
        assert assert_ok(b.get(f"/v1/stores/{shop.id}/cards", shop.display))["items"] == []

        # a device deleted at A stops resolving at B
        assert_ok(a.delete(f"/v1/me/devices/{watch.id}", eve["token"]))
        wait_for(lambda: unknown_at(b, shop, watch), "B to stop resolving a device deleted at A",
                 timeout=CATCH_UP_S)
        assert caught_up(b) >= applied + 3
    finally:
        nats_up(nats, a, b)


def test_with_nats_down_an_erasure_reaches_the_other_node(nodes, nats):
    a, b, _ = nodes
    _, _, shop, fay, phone = shop_with_member(a, "Fay Erased")
    wait_for(lambda: resolves_at(b, shop, phone), "B resolves the phone over NATS")
    on_b = EventStream(b, shop.id, shop.display)
    assert on_b.status == 200
    nats_down(nats, a, b)
    try:
        card = wait_for(lambda: assert_ok(b.get(f"/v1/stores/{shop.id}/cards",
                                                shop.display))["items"], "B's card")[0]
        t0 = time.monotonic()
        assert_ok(a.delete("/v1/me", fay["token"], json={"confirm": True}))
        ev = None
        while ev is None or ev[0] != "gone":
            ev = on_b.next(timeout=CATCH_UP_S)
            assert ev is not None, f"no gone at B within {CATCH_UP_S} s: {on_b.seen}"
        assert ev[1] == {"visit": card["visit"]}
        assert time.monotonic() - t0 < CATCH_UP_S
        assert unknown_at(b, shop, phone), "B still resolves an erased customer's phone"
        # the outbox told B by the id's digest: no row anywhere holds her id
        con = a.db_connect()
        try:
            assert cells_containing(con, fay["id"]) == []
            digest = hashlib.sha256(fay["id"].encode()).hexdigest()
            assert con.execute("SELECT what FROM changes WHERE customer_id = ?",
                               (digest,)).fetchall() == [("erased",)]
        finally:
            con.close()
    finally:
        on_b.close()
        nats_up(nats, a, b)


def test_a_change_that_also_came_over_nats_is_applied_once(nodes):
    """With NATS up, B hears of a change twice (NATS, then the outbox): the
    second application changes nothing a display sees."""
    a, b, _ = nodes
    brand = a.new_brand(choices=CHOICES)
    admin = a.new_staff(brand)["token"]
    shop = Shop(a, brand, admin)
    gus = member(a, brand, ["recognition", "preferences"], name="Gus Twice",
                 answers={"usual": "Espresso"})
    phone = Device()
    phone.register(a, gus)
    on_b = EventStream(b, shop.id, shop.display)
    assert on_b.status == 200
    try:
        wait_for(lambda: resolves_at(b, shop, phone), "B resolves the phone")
        assert on_b.expect("card")["customer"]["name"] == "Gus Twice"
        applied = caught_up(b)
        assert_ok(a.put(f"/v1/me/brands/{brand['id']}/preferences", gus["token"],
                        json={"answers": {"usual": "Double espresso"}, "dont": []}))
        assert "Double espresso" in json.dumps(on_b.expect("update", timeout=2))
        wait_for(lambda: caught_up(b) > applied, "B to read the change from the outbox too",
                 timeout=CATCH_UP_S)
        on_b.quiet(1.0)
    finally:
        on_b.close()


def test_outbox_rows_say_what_changed_and_go_after_an_hour(server_factory, nodes):
    a, _, _ = nodes
    _, _, _, hal, _ = shop_with_member(a, "Hal Swept")
    con = connect(a.db, readonly=False)
    try:
        rows = con.execute("SELECT what, brand_id, at, tx FROM changes WHERE customer_id = ? "
                           "ORDER BY id", (hal["id"],)).fetchall()
        # joining wrote one row (several grant rows, one transaction); the phone one
        assert [r[0] for r in rows] == ["changed", "devices"]
        assert rows[0][1] is not None and rows[1][1] is None
        assert all(RFC3339_UTC.match(r[2]) and r[3] > 0 for r in rows)
        con.execute("INSERT INTO changes (tx, at, what, customer_id) VALUES "
                    "(1, '2000-01-01T00:00:00.000Z', 'devices', 'cus_sweptaway')")
        # a node's housekeeping sweeps at its start: rows over an hour old go
        server_factory(db=a.db)
        wait_for(lambda: not con.execute("SELECT 1 FROM changes WHERE customer_id = "
                                         "'cus_sweptaway'").fetchall(), "the sweep")
        assert len(con.execute("SELECT 1 FROM changes WHERE customer_id = ?",
                               (hal["id"],)).fetchall()) == 2
    finally:
        con.close()
