"""The console's member search: by name only under a recognition grant, by a
counter code, never for counter staff, and every member listed is a look the
customer reads in their access log."""
import pytest

from conftest import assert_ok, assert_problem, uniq
from privacy_support import access_log


@pytest.fixture(scope="module")
def brand(server):
    b = server.new_brand(name=f"Search Co {uniq('')}")
    return b


def search(server, brand, token, q):
    return server.get(f"/v1/brands/{brand['id']}/members", token, params={"q": q})


def test_search_by_name_under_recognition_only(server, brand):
    manager = server.new_staff(brand, "manager")
    tag = uniq("Quixote")
    seen = server.new_customer(name=f"Ada {tag}")
    hidden = server.new_customer(name=f"Bea {tag}")
    stranger = server.new_customer(name=f"Cy {tag}")
    server.join(seen, brand, ["recognition", "preferences"])
    server.join(hidden, brand, ["preferences"])      # no recognition: not findable by name

    r = assert_ok(search(server, brand, manager["token"], tag.lower()))
    assert [m["name"] for m in r["items"]] == [f"Ada {tag}"]
    assert r["items"][0]["id"] == seen["id"] and "member_since" in r["items"][0]

    # the listed member sees the look; the others have nothing
    log = access_log(server, seen)
    assert [(e["actor_kind"], e["actor_role"], e["fields"], e["purpose"]) for e in log] == \
        [("staff", "manager", "name", "recognition")]
    assert access_log(server, hidden) == []
    assert access_log(server, stranger) == []

    # withdrawing recognition takes her out of the results at once
    server.join(seen, brand, ["preferences"])
    assert assert_ok(search(server, brand, manager["token"], tag))["items"] == []


def test_search_input_and_roles(server, brand):
    admin = server.new_staff(brand, "admin")
    counter = server.new_staff(brand, "counter")
    for q in ("", "a", "x" * 101):
        assert_problem(search(server, brand, admin["token"], q), 422, "q")
    assert_problem(server.get(f"/v1/brands/{brand['id']}/members", admin["token"]), 422, "q")
    r = assert_problem(search(server, brand, counter["token"], "ada"), 403)
    assert "admin or manager" in r["detail"] and "counter" in r["detail"]
    other = server.new_brand(name=f"Elsewhere {uniq('')}")
    assert_problem(search(server, other, admin["token"], "ada"), 403)


def test_search_by_counter_code(server, brand):
    admin = server.new_staff(brand, "admin")
    c = server.new_customer(name=f"Dee {uniq('')}")
    server.join(c, brand, ["recognition"])
    dev = assert_ok(server.post("/v1/me/devices", c["token"],
                                json={"name": "Tag", "method": "shared", "rotation_exponent": 8}), 201)
    code = assert_ok(server.get(f"/v1/me/devices/{dev['id']}/code", c["token"]))["code"]
    r = assert_ok(search(server, brand, admin["token"], code))
    assert len(r["items"]) == 1
    assert r["items"][0]["id"] == c["id"] and r["items"][0]["matched"] == "code"
    assert r["items"][0]["name"] == c["name"]
    assert access_log(server, c)[0]["actor_role"] == "admin"
