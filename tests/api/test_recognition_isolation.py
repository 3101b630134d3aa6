"""Recognition (issue 3): isolation of the new keys. A scanner key posts
sightings only for its own store; a display key reads only its own store's
cards; staff stay inside their brand; each key does only its own job."""
import json
from types import SimpleNamespace

import pytest

from conftest import assert_ok, assert_problem, dump_rows
from recog_support import (CHOICES, Device, Shop, member, new_store, stats, store_key,
                           stream_get)


@pytest.fixture(scope="module")
def w(server):
    a = server.new_brand(name="Iso Brand A", choices=CHOICES)
    b = server.new_brand(name="Iso Brand B", choices=CHOICES)
    x = SimpleNamespace(A=a, B=b)
    a1, a2 = new_store(server, a), new_store(server, a)
    x.A_admin = server.new_staff(a, "admin")
    x.A_manager = server.new_staff(a, "manager", stores=[a2["id"]])  # manages A2
    x.A_counter = server.new_staff(a, "counter", stores=[a1["id"]])  # serves at A1
    x.B_admin = server.new_staff(b, "admin")
    x.A1 = Shop(server, a, x.A_admin["token"], store=a1)
    x.A2 = Shop(server, a, x.A_manager["token"], store=a2)
    x.B1 = Shop(server, b, x.B_admin["token"])
    # a customer recognisable everywhere, so a misrouted sighting would show
    x.c = member(server, a, ["recognition", "preferences"], name="Everywhere Eve")
    server.join(x.c, b, ["recognition", "preferences"])
    x.d = Device(k=9)
    x.d.register(server, x.c)
    return x


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


def test_a_sighting_shows_only_at_the_scanners_store(server, w, streams):
    second_display = store_key(server, w.A1.store, "display", w.A_admin["token"])
    sa1, sa1b, sa2, sb1 = streams(w.A1), streams(w.A1, second_display), streams(w.A2), \
        streams(w.B1)
    before = stats(server)
    assert before["displays_connected"] >= 4
    w.A1.sight(w.d.eid())
    card = sa1.expect("card")
    assert card["store"] == w.A1.id
    assert sa1b.expect("card") == card  # every display of the store
    sa2.quiet(0.3)
    sb1.quiet(0.1)
    assert w.A2.cards() == [] and w.B1.cards() == []
    assert [c["visit"] for c in w.A1.cards(second_display)] == [card["visit"]]
    # staff of brand A at that store read it too, and may follow the stream
    assert w.A1.cards(w.A_counter["token"]) == [card]
    staff_stream = streams(w.A1, w.A_counter["token"])
    assert staff_stream.expect("card") == card
    # staff of another store of the brand do not: a role holds at its own store
    for r in (server.get(f"/v1/stores/{w.A1.id}/cards", w.A_manager["token"]),
              stream_get(server, w.A1.id, w.A_manager["token"]),
              server.post(f"/v1/stores/{w.A1.id}/cards/{card['visit']}/served",
                          w.A_manager["token"])):
        body = assert_problem(r, 403, ["manager", w.A1.store["name"]])
        assert "Everywhere Eve" not in json.dumps(body)
    assert_problem(server.get(f"/v1/stores/{w.A2.id}/cards", w.A_counter["token"]), 403,
                   ["counter", w.A2.store["name"]])
    assert [c["visit"] for c in w.A1.cards()] == [card["visit"]]  # not served by them


def test_display_key_stays_in_its_store(server, w):
    visit = "vis_0000000000000000000000000000"
    for other in (w.B1, w.A2):  # another brand's store, and another store of the brand
        base = f"/v1/stores/{other.id}"
        for r in (server.get(f"{base}/cards", w.A1.display),
                  stream_get(server, other.id, w.A1.display),
                  server.post(f"{base}/codes", w.A1.display, json={"code": "ABCD-EFGH"}),
                  server.post(f"{base}/cards/{visit}/served", w.A1.display)):
            assert_problem(r, 403)


def test_staff_stay_in_their_brand(server, w):
    base = f"/v1/stores/{w.A1.id}"
    tok = w.B_admin["token"]
    for r in (server.post(f"{base}/scanners", tok, json={"name": "stolen"}),
              server.post(f"{base}/displays", tok, json={"name": "stolen"}),
              server.get(f"{base}/cards", tok),
              stream_get(server, w.A1.id, tok),
              server.post(f"{base}/codes", tok, json={"code": "ABCD-EFGH"}),
              server.post(f"{base}/cards/vis_0000000000000000000000000000/served", tok)):
        assert_problem(r, 403)
    # inside the brand, only admins and managers make keys
    for kind in ("scanners", "displays"):
        assert_problem(server.post(f"{base}/{kind}", w.A_counter["token"], json={}), 403,
                       "counter")
    assert_problem(server.post(f"{base}/scanners", w.c["token"], json={}), 403)
    assert_problem(server.post(f"{base}/scanners", json={}), 401)
    assert_problem(server.post("/v1/stores/sto_0000000000000000000000000000/scanners",
                               w.A_admin["token"], json={}), 404)
    # a key made without a body still works
    k = assert_ok(server.post(f"{base}/displays", w.A_admin["token"]), 201)
    assert k["key"].startswith("sk_") and k["kind"] == "display"


def test_each_key_does_only_its_job(server, w):
    base = f"/v1/stores/{w.A1.id}"
    scanner, display = w.A1.scanner, w.A1.display
    # a scanner key cannot read or act on cards, nor make keys
    for r in (server.get(f"{base}/cards", scanner),
              stream_get(server, w.A1.id, scanner),
              server.post(f"{base}/codes", scanner, json={"code": "ABCD-EFGH"}),
              server.post(f"{base}/cards/vis_0000000000000000000000000000/served", scanner),
              server.post(f"{base}/scanners", scanner, json={}),
              server.post(f"{base}/displays", scanner, json={}),
              server.get("/v1/me/devices", scanner),
              server.post("/v1/me/presence", scanner, json={"store": w.A1.id})):
        assert_problem(r, 403)
    # a display key cannot post sightings, nor make keys
    before = stats(server)
    for r in (server.post("/v1/sightings", display, json={"sightings": [{"eid": w.d.eid()}]}),
              server.post(f"{base}/scanners", display, json={}),
              server.post(f"{base}/displays", display, json={})):
        assert_problem(r, 403)
    # nor may staff or customers post sightings
    for tok in (w.A_admin["token"], w.c["token"], server.op_token):
        assert_problem(server.post("/v1/sightings", tok,
                                   json={"sightings": [{"eid": w.d.eid()}]}), 403)
    assert_problem(server.post("/v1/sightings", json={"sightings": []}), 401)
    assert_problem(server.post("/v1/sightings", "sk_" + "x" * 40, json={"sightings": []}), 401)
    assert stats(server)["received"] == before["received"]
    # customers cannot read cards
    assert_problem(server.get(f"{base}/cards", w.c["token"]), 403)
    assert_problem(server.get(f"{base}/cards"), 401)


def test_keys_are_stored_hashed(server, w):
    con = server.db_connect()
    try:
        dump = dump_rows(con)
    finally:
        con.close()
    for key in (w.A1.scanner, w.A1.display, w.B1.scanner, w.B1.display):
        assert key not in dump
