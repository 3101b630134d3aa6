"""The notice as the console edits it: paragraphs, every version readable, and
members told which version they agreed to — choosing again after a change is
agreeing to the new one, in the ledger."""
from conftest import assert_ok, assert_problem, uniq


def test_notice_versions_paragraphs_and_agreement(server):
    b = server.new_brand(name=f"Notice Co {uniq('')}",
                         notice={"text": "We keep your name.", "faq": [{"q": "Why?", "a": "To greet you."}]})
    admin = server.new_staff(b, "admin")
    c = server.new_customer()
    assert server.join(c, b, ["recognition", "preferences"], notice_version=1)
    m = assert_ok(server.get(f"/v1/me/brands/{b['id']}", c["token"]))
    assert m["notice_version"] == 1

    # a second version with paragraphs; tabs and other controls are refused
    text = "We keep your name.\n\nAnd now your answers, to serve you faster."
    bad = server.put(f"/v1/brands/{b['id']}/notice", admin["token"], json={"text": "a\tb"})
    assert "line breaks" in assert_problem(bad, 422, "text")["detail"]
    v2 = assert_ok(server.put(f"/v1/brands/{b['id']}/notice", admin["token"],
                              json={"text": text, "faq": [{"q": "Why?", "a": "To greet you.\nThat is all."}]}))
    assert v2["version"] == 2
    assert assert_ok(server.get(f"/v1/brands/{b['id']}/notice"))["text"] == text

    # every version stays readable
    v1 = assert_ok(server.get(f"/v1/brands/{b['id']}/notice", params={"version": 1}))
    assert v1["version"] == 1 and v1["text"] == "We keep your name."
    assert v1["faq"] == [{"q": "Why?", "a": "To greet you."}]
    assert_problem(server.get(f"/v1/brands/{b['id']}/notice", params={"version": 9}), 404, "version 9")
    for v in ("0", "x", "-1", "1.5"):
        assert_problem(server.get(f"/v1/brands/{b['id']}/notice", params={"version": v}), 422, "version")

    # the member still stands on version 1 until they choose again
    m = assert_ok(server.get(f"/v1/me/brands/{b['id']}", c["token"]))
    assert m["notice_version"] == 1
    # choosing under the old version is refused (they must read the new one)
    assert_problem(server.put(f"/v1/me/brands/{b['id']}", c["token"],
                              json={"purposes": ["recognition", "preferences"], "notice_version": 1}), 409)
    m = assert_ok(server.put(f"/v1/me/brands/{b['id']}", c["token"],
                             json={"purposes": ["recognition", "preferences"], "notice_version": 2}))
    assert sorted((x["purpose"], x["action"]) for x in m["changes"]) == \
        [("preferences", "renew"), ("recognition", "renew")]
    assert m["notice_version"] == 2
    ledger = server.ledger(c)
    assert sorted((e["purpose"], e["action"], e["notice_version"]) for e in ledger) == [
        ("preferences", "grant", 1), ("preferences", "grant", 2),
        ("recognition", "grant", 1), ("recognition", "grant", 2)]
    # the same choice again under the same version writes nothing new
    again = assert_ok(server.put(f"/v1/me/brands/{b['id']}", c["token"],
                                 json={"purposes": ["recognition", "preferences"], "notice_version": 2}))
    assert again["changes"] == []
    assert len(server.ledger(c)) == 4
