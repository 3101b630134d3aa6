"""Suggestions (issue 5): only under the suggestions purpose; never what is on
the don't-list (items and whole categories), never a non-consumable bought
before, never a person's dislikes; at most two on a counter card, each with a
reason; staff's one-tap outcome recorded, in the access log and the export;
declined does not return on the next visit; dismiss is for good; the usual
under history."""
import datetime
import uuid

import pytest

from conftest import assert_ok, assert_problem, connect

ITEMS = [
    ("t-1", "The Spy", "books/fiction/thrillers", "Ann Author"),
    ("t-2", "The Mole", "books/fiction/thrillers", "Ann Author"),
    ("t-3", "The Handler", "books/fiction/thrillers", "Bo Writer"),
    ("g-1", "Roses", "books/home/gardening", "Cy Green"),
    ("g-2", "Tulips", "books/home/gardening", "Cy Green"),
    ("k-1", "Bunny Tales", "books/children", "Di Small"),
    ("k-2", "Dino Days", "books/children", "Di Small"),
]


@pytest.fixture(scope="module")
def shop(server):
    b = server.new_brand(name="Suggest Books")
    admin = server.new_staff(b, "admin")
    s1, s2, s3 = server.new_store(b), server.new_store(b), server.new_store(b)
    for sku, title, cat, maker in ITEMS:
        assert_ok(server.put(f"/v1/brands/{b['id']}/items/{sku}", admin["token"],
                             json={"title": title, "category": cat, "maker": maker}))
    # anonymous baskets: thrillers go together, gardening together
    for basket in [["t-1", "t-2", "t-3"], ["t-1", "t-2"], ["t-2", "t-3"], ["g-1", "g-2"],
                   ["g-1", "g-2", "t-1"], ["k-1", "k-2"], ["t-1", "t-3"]] * 3:
        assert_ok(server.post(f"/v1/brands/{b['id']}/purchases", admin["token"],
                              json={"store": s1["id"], "lines": [{"sku": s, "qty": 1, "price": 5}
                                                                   for s in basket]},
                              headers={"Idempotency-Key": str(uuid.uuid4())}), 201)
    disp = {s["id"]: assert_ok(server.post(f"/v1/stores/{s['id']}/displays", admin["token"],
                                           json={}), 201)["key"] for s in (s1, s2, s3)}
    return {"brand": b, "admin": admin, "stores": [s1, s2, s3], "disp": disp}


def customer(server, shop, purposes, dont=None):
    c = server.new_customer()
    server.join(c, shop["brand"], purposes)
    if dont is not None:
        assert_ok(server.put(f"/v1/me/brands/{shop['brand']['id']}/preferences", c["token"],
                             json={"answers": {}, "dont": dont}))
    return c


def buy(server, shop, c, skus):
    assert_ok(server.post(f"/v1/brands/{shop['brand']['id']}/purchases", shop["admin"]["token"],
                          json={"store": shop["stores"][0]["id"], "customer": c["id"],
                                "lines": [{"sku": s, "qty": 1, "price": 5} for s in skus]},
                          headers={"Idempotency-Key": str(uuid.uuid4())}), 201)


def train(server, shop):
    return assert_ok(server.post(f"/v1/brands/{shop['brand']['id']}/train",
                                 shop["admin"]["token"], json={}))


def mine(server, shop, c):
    return assert_ok(server.get(f"/v1/me/brands/{shop['brand']['id']}/suggestions",
                                c["token"]))["items"]


def my_card(server, shop, c, store):
    assert_ok(server.post("/v1/me/presence", c["token"], json={"store": store["id"]}))
    cards = assert_ok(server.get(f"/v1/stores/{store['id']}/cards", shop["disp"][store["id"]]))
    cards = cards["items"] if isinstance(cards, dict) else cards
    con = server.db_connect()
    try:
        vid = con.execute("SELECT id FROM visits WHERE customer_id = ? AND store_id = ? "
                          "ORDER BY opened_at DESC LIMIT 1", (c["id"], store["id"])).fetchone()[0]
    finally:
        con.close()
    return next(k for k in cards if k["visit"] == vid)


def test_train_reports_counts(server, shop):
    r = train(server, shop)
    assert r["items"] == len(ITEMS) and r["baskets"] >= 21 and "ms" in r


def test_nothing_without_suggestions_purpose(server, shop):
    c = customer(server, shop, ["recognition", "history"])
    buy(server, shop, c, ["t-1"])
    train(server, shop)
    assert mine(server, shop, c) == []
    k = my_card(server, shop, c, shop["stores"][0])
    assert "suggestions" not in k


def test_history_rules_and_reasons(server, shop):
    c = customer(server, shop, ["recognition", "history", "suggestions", "preferences"],
                 dont=["The Handler"])
    buy(server, shop, c, ["t-1"])
    train(server, shop)
    items = mine(server, shop, c)
    skus = [i["sku"] for i in items]
    assert "t-1" not in skus            # bought before, not consumable
    assert "t-3" not in skus            # on the don't-list by title
    assert "t-2" in skus
    t2 = next(i for i in items if i["sku"] == "t-2")
    assert t2["reason"] == "because you bought The Spy"
    assert t2["why"]["source"] == "history"


def test_dont_list_whole_category_and_people(server, shop):
    c = customer(server, shop, ["recognition", "suggestions", "preferences"], dont=["children"])
    assert_ok(server.post("/v1/me/people", c["token"],
                          json={"label": "Anna", "likes": {"categories": ["gardening"]},
                                "dislikes": {"tags": []}}), 201)
    assert_ok(server.post("/v1/me/people", c["token"],
                          json={"label": "Ben", "likes": {"categories": ["thrillers"]},
                                "dislikes": {"makers": ["Ann Author"]}}), 201)
    items = mine(server, shop, c)
    skus = {i["sku"] for i in items}
    assert not skus & {"k-1", "k-2"}      # whole category on the don't-list
    assert not skus & {"t-1", "t-2"}      # Ben dislikes Ann Author
    fors = {i.get("for") for i in items}
    assert {"Anna", "Ben"} <= fors        # each person represented
    anna = next(i for i in items if i.get("for") == "Anna")
    assert anna["reason"] == "for Anna — likes gardening"


def test_card_outcome_log_export_and_cooldown(server, shop):
    c = customer(server, shop, ["recognition", "suggestions"])
    assert_ok(server.post("/v1/me/people", c["token"],
                          json={"label": "Cal", "likes": {"categories": ["thrillers"]}}), 201)
    s1, s2 = shop["stores"][1], shop["stores"][2]
    k = my_card(server, shop, c, s1)
    sug = k["suggestions"]
    assert 1 <= len(sug) <= 2
    assert all(s["reason"] and s["title"] for s in sug)
    first = sug[0]["sku"]
    r = assert_ok(server.post(f"/v1/stores/{s1['id']}/cards/{k['visit']}/suggestions/{first}",
                              shop["disp"][s1["id"]], json={"outcome": "declined"}))
    assert r["outcome"] == "declined"
    # gone from the card, and a second answer is refused
    k2 = my_card(server, shop, c, s1)
    assert first not in [s["sku"] for s in k2.get("suggestions", [])]
    assert_problem(server.post(f"/v1/stores/{s1['id']}/cards/{k['visit']}/suggestions/{first}",
                               shop["disp"][s1["id"]], json={"outcome": "accepted"}), 404)
    assert_problem(server.post(f"/v1/stores/{s1['id']}/cards/{k['visit']}/suggestions/{first}",
                               shop["disp"][s1["id"]], json={"outcome": "maybe"}), 422)
    # the next visit does not bring it back
    k3 = my_card(server, shop, c, s2)
    assert first not in [s["sku"] for s in k3.get("suggestions", [])]
    assert first not in [s["sku"] for s in mine(server, shop, c)]
    # access log and export
    log = assert_ok(server.get("/v1/me/access-log", c["token"]))
    entries = log["items"] if isinstance(log, dict) else log
    assert any("suggestion_outcome:declined" in e["fields"] for e in entries)
    assert any("suggestions" in e["fields"].split() for e in entries)
    exp = assert_ok(server.get("/v1/me/export", c["token"]))
    rows = exp["suggestions"]
    assert any(r["sku"] == first and r["outcome"] == "declined" for r in rows)
    # a person's tastes are never stored in clear
    assert all("Cal" not in (r["reason"] or "") for r in rows)


def test_dismiss_for_good(server, shop):
    c = customer(server, shop, ["recognition", "suggestions"])
    assert_ok(server.post("/v1/me/people", c["token"],
                          json={"label": "Dee", "likes": {"categories": ["gardening"]}}), 201)
    before = [i["sku"] for i in mine(server, shop, c)]
    assert before
    assert_ok(server.post(f"/v1/me/brands/{shop['brand']['id']}/suggestions/{before[0]}/dismiss",
                          c["token"], json={}))
    assert before[0] not in [i["sku"] for i in mine(server, shop, c)]
    assert_problem(server.post(f"/v1/me/brands/{shop['brand']['id']}/suggestions/nope/dismiss",
                               c["token"], json={}), 404)


def test_the_usual(server, shop):
    c = customer(server, shop, ["recognition", "history"])
    buy(server, shop, c, ["g-1"])
    buy(server, shop, c, ["g-1", "t-2"])
    k = my_card(server, shop, c, shop["stores"][0])
    usual = [x for x in k.get("choices", []) if x["key"] == "usual"]
    assert usual == [{"key": "usual", "label": "The usual", "value": "Roses"}]


def test_one_purchase_is_not_the_usual(server, shop):
    """Issue 10: "the usual" is a habit. One purchase — even of two of the
    same, or on two lines — is not; a second, separate purchase makes it."""
    c = customer(server, shop, ["recognition", "history"])
    assert_ok(server.post(f"/v1/brands/{shop['brand']['id']}/purchases", shop["admin"]["token"],
                          json={"store": shop["stores"][0]["id"], "customer": c["id"],
                                "lines": [{"sku": "g-2", "qty": 2, "price": 5},
                                          {"sku": "g-2", "qty": 1, "price": 5}]},
                          headers={"Idempotency-Key": str(uuid.uuid4())}), 201)
    b = shop["brand"]["id"]
    p = assert_ok(server.get(f"/v1/me/brands/{b}/card", c["token"]))
    assert all(x["key"] != "usual" for x in p["card"].get("choices", [])), p["card"]
    k = my_card(server, shop, c, shop["stores"][1])
    assert all(x["key"] != "usual" for x in k.get("choices", [])), k
    buy(server, shop, c, ["g-2"])
    p = assert_ok(server.get(f"/v1/me/brands/{b}/card", c["token"]))
    assert {"key": "usual", "label": "The usual", "value": "Tulips"} in p["card"]["choices"]


def test_brand_without_catalogue(server, shop):
    """Issue 10: a brand that has no catalogue is not an error for its
    members: 200, no items, "catalogue": false (the portal hides the
    section); the card keeps the usual and the rest, and retraining says why
    there is nothing to learn."""
    b = server.new_brand(name="No Shelves")
    admin = server.new_staff(b, "admin")
    store = server.new_store(b)
    disp = assert_ok(server.post(f"/v1/stores/{store['id']}/displays", admin["token"], json={}), 201)["key"]
    c = server.new_customer()
    server.join(c, b, ["recognition", "suggestions", "history"])
    r = assert_ok(server.get(f"/v1/me/brands/{b['id']}/suggestions", c["token"]))
    assert r == {"items": [], "catalogue": False}
    r = assert_ok(server.get(f"/v1/me/brands/{b['id']}/suggestions?for=me", c["token"]))
    assert r["catalogue"] is False
    # without the suggestions purpose the answer still says there is no catalogue
    c2 = server.new_customer()
    server.join(c2, b, ["recognition"])
    assert assert_ok(server.get(f"/v1/me/brands/{b['id']}/suggestions", c2["token"]))["catalogue"] is False
    # the preview and a real card still work, with an empty suggestions part
    p = assert_ok(server.get(f"/v1/me/brands/{b['id']}/card", c["token"]))
    assert p["shown"] is True and p["card"]["suggestions"] == []
    assert_ok(server.post("/v1/me/presence", c["token"], json={"store": store["id"]}))
    cards = assert_ok(server.get(f"/v1/stores/{store['id']}/cards", disp))
    cards = cards["items"] if isinstance(cards, dict) else cards
    assert len(cards) == 1 and cards[0]["suggestions"] == []
    assert_problem(server.post(f"/v1/brands/{b['id']}/train", admin["token"], json={}), 409,
                   detail_contains="no catalogue")
    # a brand with a catalogue says so
    c3 = customer(server, shop, ["recognition", "suggestions"])
    assert assert_ok(server.get(f"/v1/me/brands/{shop['brand']['id']}/suggestions",
                                c3["token"]))["catalogue"] is True
    # a non-member still gets a 404 that says what to do
    r = server.get(f"/v1/me/brands/{b['id']}/suggestions", server.new_customer()["token"])
    assert_problem(r, 404, detail_contains="join")


def test_preview_shows_suggestions_and_usual_without_recording(server, shop):
    """The portal's "what staff will see" has the usual and the suggestions a
    new visit would bring, and looking at it records nothing: the same items
    are still offered on the next real visit, and the export has no showing."""
    c = customer(server, shop, ["recognition", "history", "suggestions"])
    buy(server, shop, c, ["g-1"])
    buy(server, shop, c, ["g-1"])
    train(server, shop)
    b = shop["brand"]["id"]
    for _ in range(2):
        p = assert_ok(server.get(f"/v1/me/brands/{b}/card", c["token"]))
        assert p["shown"] is True
        sug = p["card"]["suggestions"]
        assert 1 <= len(sug) <= 2 and all(s["reason"] for s in sug)
        assert {"key": "usual", "label": "The usual", "value": "Roses"} in p["card"]["choices"]
    assert assert_ok(server.get("/v1/me/export", c["token"]))["suggestions"] == []
    k = my_card(server, shop, c, shop["stores"][0])
    assert [s["sku"] for s in k["suggestions"]] == [s["sku"] for s in sug]
    # without the suggestions purpose the preview has no suggestions part
    c2 = customer(server, shop, ["recognition"])
    p2 = assert_ok(server.get(f"/v1/me/brands/{b}/card", c2["token"]))
    assert "suggestions" not in p2["card"]
    assert all(x["key"] != "usual" for x in p2["card"].get("choices", []))


def test_each_showing_lowers_until_cooldown_passes(server, shop):
    """Past the hard cooldowns an item still carries its showings: one shown
    and left unanswered on four mornings sinks below the next best, and comes
    back on top once a month has passed."""
    c = customer(server, shop, ["recognition", "history", "suggestions"])
    buy(server, shop, c, ["t-1"])
    train(server, shop)
    before = [i["sku"] for i in mine(server, shop, c)]
    assert len(before) >= 2
    k = my_card(server, shop, c, shop["stores"][1])
    a = k["suggestions"][0]["sku"]
    assert a == before[0]
    b_id = shop["brand"]["id"]
    con = connect(server.db, readonly=False)  # the clock, moved by hand

    def showings(days_ago):
        fmt = "%Y-%m-%dT%H:%M:%S.000Z"
        now = datetime.datetime.now(datetime.timezone.utc)
        con.execute("DELETE FROM suggestion_events WHERE customer_id = ?", (c["id"],))
        for n, d in enumerate(days_ago):
            con.execute("INSERT INTO suggestion_events (customer_id, brand_id, sku, visit_id, reason, "
                        "shown_at) VALUES (?, ?, ?, ?, '', ?)",
                        (c["id"], b_id, a, f"vis_fatigue_{c['id']}_{n}",
                         (now - datetime.timedelta(days=d)).strftime(fmt)))
        con.commit()

    try:
        # shown on four mornings, 4 to 7 days ago, never answered
        showings([4, 5, 6, 7])
        after = [i["sku"] for i in mine(server, shop, c)]
        assert a in after                       # not excluded: only lowered
        assert after.index(a) > after.index(before[1])
        # a month on, the showings weigh nothing
        showings([31, 32, 33, 34])
        assert [i["sku"] for i in mine(server, shop, c)][0] == a
    finally:
        con.close()


def test_what_was_bought_for_a_person_shapes_their_suggestions(server, shop):
    """A line bought "for" a person feeds that person's suggestions, with a
    reason that says so; it is not the customer's own taste."""
    c = customer(server, shop, ["recognition", "history", "suggestions"])
    eve = assert_ok(server.post("/v1/me/people", c["token"], json={"label": "Eve"}), 201)
    assert_ok(server.post(f"/v1/brands/{shop['brand']['id']}/purchases", shop["admin"]["token"],
                          json={"store": shop["stores"][0]["id"], "customer": c["id"],
                                "lines": [{"sku": "g-1", "qty": 1, "price": 5, "for": eve["id"]}]},
                          headers={"Idempotency-Key": str(uuid.uuid4())}), 201)
    buy(server, shop, c, ["t-1"])
    train(server, shop)
    items = mine(server, shop, c)
    g2 = next(i for i in items if i["sku"] == "g-2")
    assert g2["for"] == "Eve"
    assert g2["reason"] == "for Eve — because you bought Roses for Eve"
    assert g2["why"]["source"] == "person" and g2["why"]["because"] == "g-1"
    # the customer's own suggestions come from their own purchase only
    own = [i for i in items if i["why"]["source"] == "history"]
    assert own and all(i["reason"] == "because you bought The Spy" for i in own)
    # both are represented on the card
    k = my_card(server, shop, c, shop["stores"][2])
    assert {s.get("for") for s in k["suggestions"]} == {None, "Eve"}


def test_one_persons_list(server, shop):
    """?for=<person> gives that person's own ten (what to get Anna), ?for=me
    the customer's own; an unknown or someone else's person is a 404 that
    says what to pass."""
    c = customer(server, shop, ["recognition", "history", "suggestions"])
    anna = assert_ok(server.post("/v1/me/people", c["token"],
                                 json={"label": "Anna", "likes": {"categories": ["gardening"]}}), 201)
    buy(server, shop, c, ["t-1"])
    train(server, shop)
    base = f"/v1/me/brands/{shop['brand']['id']}/suggestions"
    merged = mine(server, shop, c)
    assert {i.get("for") for i in merged} == {None, "Anna"}
    hers = assert_ok(server.get(f"{base}?for={anna['id']}", c["token"]))["items"]
    assert [i["sku"] for i in hers] == ["g-1", "g-2"]      # both gardening books, nothing else
    assert all(i["for"] == "Anna" and i["reason"] == "for Anna — likes gardening" for i in hers)
    own = assert_ok(server.get(f"{base}?for=me", c["token"]))["items"]
    assert own and all("for" not in i and i["why"]["source"] == "history" for i in own)
    assert "t-2" in [i["sku"] for i in own]
    # another customer's person, a made-up id, garbage: 404 with a useful detail
    other = customer(server, shop, ["recognition", "suggestions"])
    theirs = assert_ok(server.post("/v1/me/people", other["token"], json={"label": "Zed"}), 201)
    for bad in (theirs["id"], "p_nobody", "%20", "x" * 300):
        r = server.get(f"{base}?for={bad}", c["token"])
        assert_problem(r, 404)
        assert "GET /v1/me/people" in r.json()["detail"]
