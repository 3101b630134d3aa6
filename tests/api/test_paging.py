"""Lists are paged: limit and the cursor after."""
import pytest

from conftest import assert_ok, assert_problem


def walk(server, path, token=None, limit=2, **params):
    items, after, pages = [], None, 0
    while True:
        p = {"limit": limit, **params}
        if after:
            p["after"] = after
        page = assert_ok(server.get(path, token, params=p))
        assert set(page) == {"items", "next"}
        assert len(page["items"]) <= limit
        pages += 1
        items += page["items"]
        after = page["next"]
        if after is None:
            return items, pages
        assert page["items"] and after == page["items"][-1]["id"]
        assert pages < 1000


@pytest.fixture(scope="module")
def five_brands(server):
    return [server.new_brand() for _ in range(5)]


def test_brands_paging(server, five_brands):
    full = assert_ok(server.get("/v1/brands", params={"limit": 200}))
    assert full["next"] is None
    ids = [b["id"] for b in full["items"]]
    assert {b["id"] for b in five_brands} <= set(ids)
    items, pages = walk(server, "/v1/brands", limit=2)
    assert [b["id"] for b in items] == ids  # same order, no gap, no repeat
    assert pages == -(-len(ids) // 2)
    one = assert_ok(server.get("/v1/brands", params={"limit": 1}))
    assert len(one["items"]) == 1 and one["next"] == one["items"][0]["id"]
    # public brands come with their published choices and notice
    assert all("choices" in b and "notice" in b for b in items)
    # after the last id: an empty page
    last = assert_ok(server.get("/v1/brands", params={"after": ids[-1]}))
    assert last == {"items": [], "next": None}
    # the default page holds them all here
    assert [b["id"] for b in assert_ok(server.get("/v1/brands"))["items"]] == ids


def test_consents_paging(server, five_brands):
    c = server.new_customer()
    server.join(c, five_brands[0], ["recognition", "preferences", "offers"])
    server.join(c, five_brands[1], ["messages", "care"])
    server.join(c, five_brands[0], ["recognition"])
    full = assert_ok(server.get("/v1/me/consents", c["token"], params={"limit": 200}))
    assert len(full["items"]) == 7 and full["next"] is None
    items, pages = walk(server, "/v1/me/consents", c["token"], limit=2)
    assert items == full["items"] and pages == 4
    items, pages = walk(server, "/v1/me/consents", c["token"], limit=7)
    assert items == full["items"] and pages == 1
    # another customer's ledger is not reachable with a cursor
    other = server.new_customer()
    assert assert_ok(server.get("/v1/me/consents", other["token"],
                                params={"after": "cev_0"}))["items"] == []


def test_staff_and_store_lists_page_too(server, five_brands):
    b = five_brands[2]
    admin = server.new_staff(b, "admin")
    for _ in range(3):
        server.new_store(b)
    for _ in range(2):
        server.new_staff(b, "counter", login=False)  # (at the stores above)
    staff, _ = walk(server, f"/v1/brands/{b['id']}/staff", admin["token"], limit=2)
    assert len(staff) == 3 and len({s["id"] for s in staff}) == 3
    stores, pages = walk(server, f"/v1/brands/{b['id']}/stores", limit=1)
    assert len(stores) == 3 and pages == 3


@pytest.mark.parametrize("limit", ["0", "-1", "201", "abc", "1.5", "", "10x", "99999999999999999999"])
def test_bad_limit_is_422(server, five_brands, limit):
    c = server.new_customer() if limit == "0" else None
    assert_problem(server.get("/v1/brands", params={"limit": limit}), 422, "limit")
    if c:
        assert_problem(server.get("/v1/me/consents", c["token"], params={"limit": limit}),
                       422, "limit")


@pytest.mark.parametrize("after", ["bad cursor", "a/b", "x" * 65, "é"])
def test_bad_cursor_is_422(server, after):
    assert_problem(server.get("/v1/brands", params={"after": after}), 422, "after")


def test_limit_bounds_accepted(server, five_brands):
    assert len(assert_ok(server.get("/v1/brands", params={"limit": "1"}))["items"]) == 1
    assert_ok(server.get("/v1/brands", params={"limit": "200"}))
