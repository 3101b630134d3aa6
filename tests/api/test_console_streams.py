"""What the console ends also ends on the counter screens at once: a revoked
display key's open stream, every stream of a closed store, and a disabled
staff member's stream."""
import time

from conftest import assert_ok, assert_problem
from recog_support import EventStream, Shop


def ended_within(stream, seconds):
    return stream.ended.wait(seconds)


def test_revoking_a_display_key_ends_its_stream_now(server):
    b = server.new_brand()
    admin = server.new_staff(b, "admin")
    shop = Shop(server, b, admin["token"])
    other = assert_ok(server.post(f"/v1/stores/{shop.id}/displays", admin["token"],
                                  json={"name": "Till 2"}), 201)
    s1, s2 = shop.stream(), shop.stream(other["key"])
    time.sleep(0.2)
    assert not s1.ended.is_set() and not s2.ended.is_set()
    assert_ok(server.delete(f"/v1/stores/{shop.id}/keys/{other['id']}", admin["token"]))
    assert ended_within(s2, 3), "the revoked display's stream is still open"
    assert not ended_within(s1, 0.5), "another display of the store was cut too"
    # and it cannot come back
    assert EventStream(server, shop.id, other["key"]).status == 401


def test_closing_a_store_ends_every_stream_there(server):
    b = server.new_brand()
    admin = server.new_staff(b, "admin")
    shop, elsewhere = Shop(server, b, admin["token"]), Shop(server, b, admin["token"])
    here, there = shop.stream(), elsewhere.stream()
    time.sleep(0.2)
    closed = assert_ok(server.post(f"/v1/brands/{b['id']}/stores/{shop.id}/close", admin["token"]))
    assert closed["closed_at"]
    assert ended_within(here, 3)
    assert not ended_within(there, 0.5)
    assert_problem(server.post("/v1/sightings", shop.scanner,
                               json={"sightings": [{"eid": "0123456789abcdef", "rssi": -60}]}), 401)
    r = assert_problem(server.patch(f"/v1/brands/{b['id']}/stores/{shop.id}", admin["token"],
                                    json={"name": "Reopened?"}), 409)
    assert "closed" in r["detail"]


def test_disabling_staff_ends_their_stream(server):
    b = server.new_brand()
    admin = server.new_staff(b, "admin")
    shop = Shop(server, b, admin["token"])
    counter = server.new_staff(b, "counter", stores=[shop.id])
    s = shop.stream(counter["token"])
    assert s.status == 200
    time.sleep(0.2)
    assert_ok(server.patch(f"/v1/brands/{b['id']}/staff/{counter['id']}", admin["token"],
                           json={"disabled": True}))
    assert ended_within(s, 3)
    assert_problem(server.get(f"/v1/stores/{shop.id}/cards", counter["token"]), 401)
