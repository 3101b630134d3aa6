"""Served can be undone for a minute (issue 10): DELETE
/v1/stores/{store}/cards/{visit}/served by the store's display or staff;
every display of the store sees the card unserved; after 60 s a 409 says
why. Also the card's don't-list: an answer marked "never ask me this" is not
shown as an answer too."""
import time
from types import SimpleNamespace

import pytest

from conftest import assert_ok, assert_problem
from recog_support import CHOICES, Device, Shop, db_rows, member, store_key


@pytest.fixture(scope="module")
def pike(server):
    b = server.new_brand(name="Undo Test Coffee", choices=CHOICES)
    return SimpleNamespace(brand=b, admin=server.new_staff(b, "admin"))


@pytest.fixture
def shop_with_card(server, pike):
    shop = Shop(server, pike.brand, pike.admin["token"])
    second = store_key(server, shop.store, "display", pike.admin["token"])
    streams = [shop.stream(), shop.stream(second)]
    c = member(server, pike.brand, ["recognition"])
    d = Device(k=8)
    d.register(server, c)
    shop.sight(d.eid())
    visit = streams[0].expect("card")["visit"]
    streams[1].expect("card")
    yield SimpleNamespace(shop=shop, visit=visit, streams=streams, second=second)
    for s in streams:
        s.close()


def served_path(t):
    return f"/v1/stores/{t.shop.id}/cards/{t.visit}/served"


def test_served_is_undone_on_every_display(server, pike, shop_with_card):
    t = shop_with_card
    r = assert_ok(server.post(served_path(t), t.shop.display))
    assert r["served"] is True
    for s in t.streams:
        upd = s.expect("update")
        assert upd["served"] is True and upd["served_at"] and upd["undo_until"]
    # the other display undoes it
    r = assert_ok(server.delete(served_path(t), t.second))
    assert r == {"visit": t.visit, "served": False}
    for s in t.streams:
        upd = s.expect("update")
        assert upd["visit"] == t.visit and upd["served"] is False
        assert "undo_until" not in upd
    assert t.shop.cards()[0]["served"] is False
    assert db_rows(server, "SELECT served_at FROM visits WHERE id = ?", t.visit)[0][0] is None
    # staff may serve and undo too; undoing an unserved card changes nothing
    staff = server.new_staff(pike.brand, "counter")
    assert_ok(server.post(served_path(t), staff["token"]))
    assert_ok(server.delete(served_path(t), staff["token"]))
    assert assert_ok(server.delete(served_path(t), staff["token"]))["served"] is False
    # another store's display cannot; an unknown visit is 404
    other = Shop(server, pike.brand, pike.admin["token"])
    assert_problem(server.delete(served_path(t), other.display), 403)
    assert_problem(server.delete(f"/v1/stores/{t.shop.id}/cards/vis_nope/served",
                                 t.shop.display), 404)


def test_undo_is_refused_after_a_minute(server, shop_with_card):
    t = shop_with_card
    assert_ok(server.post(served_path(t), t.shop.display))
    time.sleep(61)
    body = assert_problem(server.delete(served_path(t), t.shop.display), 409)
    assert "can no longer be undone" in body["detail"]
    assert t.shop.cards()[0]["served"] is True


def test_an_answer_on_the_dont_list_is_not_shown_as_an_answer(server, pike):
    shop = Shop(server, pike.brand, pike.admin["token"])
    c = member(server, pike.brand, ["recognition", "preferences"],
               answers={"usual": "Oat Latte", "cup_name": "Rav"}, dont=["cup_name"])
    d = Device(k=8)
    d.register(server, c)
    s = shop.stream()
    try:
        shop.sight(d.eid())
        card = s.expect("card")
    finally:
        s.close()
    keys = [x["key"] for x in card["choices"]]
    assert keys == ["usual"], card["choices"]
    assert card["dont"] == ["Name on the cup"]
