"""The people I shop for (issue 5): /v1/me/people. A label, likes and
dislikes (categories, makers, tags) and occasions per person, sealed with the
customer's data key; only ids and times in clear. Validation names the
field; every client-controlled size has a limit; another customer sees 404;
the export holds them as typed and erasure removes them."""
import pytest

from conftest import assert_ok, assert_problem, value_type, RFC3339_UTC
from privacy_support import cells_containing, export, ro_connect

ANNA = {
    "label": "Anna — my wife 🌷 \"A\"",
    "likes": {"categories": ["books/fiction/thrillers", "gardening"],
              "makers": ["Лев Толстой", "村上春樹"], "tags": ["hardback"]},
    "dislikes": {"categories": ["children"], "makers": [], "tags": ["horror"]},
    "occasions": [{"name": "birthday", "date": "03-14"},
                  {"name": "Valentine's Day", "date": "02-14"}],
}


def people(server, c):
    return assert_ok(server.get("/v1/me/people", c["token"]))["items"]


def test_crud(server):
    c = server.new_customer()
    assert people(server, c) == []
    r = server.post("/v1/me/people", c["token"], json=ANNA)
    p = assert_ok(r, 201)
    assert p["id"].startswith("per_")
    assert r.headers["Location"] == f"/v1/me/people/{p['id']}"
    for k in ("label", "likes", "dislikes", "occasions"):
        assert p[k] == ANNA[k], k
    assert RFC3339_UTC.match(p["created_at"]) and p["updated_at"] == p["created_at"]
    assert assert_ok(server.get(f"/v1/me/people/{p['id']}", c["token"])) == p
    assert people(server, c) == [p]

    # PUT replaces everything; omitted lists become empty
    q = assert_ok(server.put(f"/v1/me/people/{p['id']}", c["token"],
                             json={"label": "the kids", "likes": {"tags": ["dinosaurs"]}}))
    assert q["id"] == p["id"] and q["label"] == "the kids"
    assert q["likes"] == {"categories": [], "makers": [], "tags": ["dinosaurs"]}
    assert q["dislikes"] == {"categories": [], "makers": [], "tags": []}
    assert q["occasions"] == [] and q["created_at"] == p["created_at"]
    assert assert_ok(server.get(f"/v1/me/people/{p['id']}", c["token"])) == q

    second = assert_ok(server.post("/v1/me/people", c["token"], json={"label": "Dad"}), 201)
    assert [x["id"] for x in people(server, c)] == [p["id"], second["id"]]

    d = assert_ok(server.delete(f"/v1/me/people/{p['id']}", c["token"]))
    assert d == {"id": p["id"], "deleted": True}
    assert_problem(server.get(f"/v1/me/people/{p['id']}", c["token"]), 404)
    assert_problem(server.delete(f"/v1/me/people/{p['id']}", c["token"]), 404)
    assert_problem(server.put(f"/v1/me/people/{p['id']}", c["token"], json={"label": "x"}), 404)
    assert [x["id"] for x in people(server, c)] == [second["id"]]


@pytest.mark.parametrize("body, status, field", [
    ({}, 422, "label"),
    ({"label": ""}, 422, "label"),
    ({"label": "x" * 61}, 422, "label"),
    ({"label": 5}, 422, "label"),
    ({"label": "A", "likes": ["books"]}, 422, "likes"),
    ({"label": "A", "likes": {"colours": ["red"]}}, 422, "likes.colours"),
    ({"label": "A", "likes": {"tags": "red"}}, 422, "likes.tags"),
    ({"label": "A", "likes": {"tags": ["ok", 3]}}, 422, "likes.tags[1]"),
    ({"label": "A", "likes": {"tags": [""]}}, 422, "likes.tags[0]"),
    ({"label": "A", "dislikes": {"makers": ["m" * 201]}}, 422, "dislikes.makers[0]"),
    ({"label": "A", "dislikes": {"categories": [f"c{i}" for i in range(51)]}}, 422,
     "dislikes.categories"),
    ({"label": "A", "occasions": {"name": "birthday"}}, 422, "occasions"),
    ({"label": "A", "occasions": [{"date": "01-01"}]}, 422, "occasions[0].name"),
    ({"label": "A", "occasions": [{"name": "b", "date": "01-01"}, {"name": "c"}]}, 422,
     "occasions[1].date"),
    ({"label": "A", "occasions": [{"name": "b", "date": "13-01"}]}, 422, "occasions[0].date"),
    ({"label": "A", "occasions": [{"name": "b", "date": "02-30"}]}, 422, "occasions[0].date"),
    ({"label": "A", "occasions": [{"name": "b", "date": "2024-02-01"}]}, 422,
     "occasions[0].date"),
    ({"label": "A", "occasions": [{"name": "b", "date": "01-01"}] * 21}, 422, "occasions"),
])
def test_validation_names_the_field(server, body, status, field):
    c = server.new_customer()
    assert_problem(server.post("/v1/me/people", c["token"], json=body), status, field)
    p = assert_ok(server.post("/v1/me/people", c["token"], json={"label": "Ok"}), 201)
    assert_problem(server.put(f"/v1/me/people/{p['id']}", c["token"], json=body), status, field)
    assert people(server, c) == [p]


def test_limits_at_the_edge(server):
    c = server.new_customer()
    big = {"label": "x" * 60,
           "likes": {k: [f"{k[0]}{i}" + "y" * 190 for i in range(50)]
                     for k in ("categories", "makers", "tags")},
           "occasions": [{"name": "n" * 60, "date": "02-29"}] * 20}
    p = assert_ok(server.post("/v1/me/people", c["token"], json=big), 201)
    assert p["likes"] == big["likes"] and len(p["occasions"]) == 20
    for i in range(19):
        assert_ok(server.post("/v1/me/people", c["token"], json={"label": f"P{i}"}), 201)
    assert_problem(server.post("/v1/me/people", c["token"], json={"label": "one too many"}),
                   409, "people")
    assert len(people(server, c)) == 20
    assert_problem(server.post("/v1/me/people", c["token"], data="[1]",
                               headers={"Content-Type": "application/json"}), 400)


def test_only_the_customer_reaches_their_people(server):
    me, other = server.new_customer(), server.new_customer()
    p = assert_ok(server.post("/v1/me/people", me["token"], json=ANNA), 201)
    path = f"/v1/me/people/{p['id']}"
    assert_problem(server.get(path, other["token"]), 404)
    assert_problem(server.put(path, other["token"], json={"label": "stolen"}), 404)
    assert_problem(server.delete(path, other["token"]), 404)
    assert people(server, other) == []
    assert_problem(server.get("/v1/me/people/..%2f", me["token"]), 404)
    assert_problem(server.get("/v1/me/people", server.op_token), 403)
    assert_problem(server.get("/v1/me/people"), 401)
    assert assert_ok(server.get(path, me["token"]))["label"] == ANNA["label"]


def test_people_are_sealed(server):
    c = server.new_customer()
    secret_label = "Grandma-Eloise-PLAINTEXT-CHECK"
    secret_tag = "orchid-growing-PLAINTEXT-CHECK"
    assert_ok(server.post("/v1/me/people", c["token"],
                          json={"label": secret_label, "likes": {"tags": [secret_tag]},
                                "occasions": [{"name": "Name-day-PLAINTEXT", "date": "07-26"}]}),
              201)
    con = ro_connect(server.db)
    try:
        for needle in (secret_label, secret_tag, "Name-day-PLAINTEXT"):
            assert cells_containing(con, needle) == []
        for col in ("label_enc", "likes_enc", "dislikes_enc", "occasions_enc"):
            assert value_type(con, "people", col, "customer_id = ?", (c["id"],)) == "blob"
    finally:
        con.close()
    for suffix in ("", "-wal"):
        f = server.db.with_name(server.db.name + suffix)
        if f.exists():
            data = f.read_bytes()
            for needle in (secret_label, secret_tag):
                assert needle.encode() not in data, f"{needle} in clear in {f.name}"


def test_export_and_erasure(server):
    c = server.new_customer()
    p = assert_ok(server.post("/v1/me/people", c["token"], json=ANNA), 201)
    x = export(server, c)
    assert x["people"] == [p]
    assert x["people"][0]["label"] == ANNA["label"]
    other = server.new_customer()
    kept = assert_ok(server.post("/v1/me/people", other["token"], json={"label": "Kept"}), 201)
    assert_ok(server.delete("/v1/me", c["token"], json={"confirm": True}))
    con = ro_connect(server.db)
    try:
        assert con.execute("SELECT COUNT(*) FROM people WHERE customer_id = ?",
                           (c["id"],)).fetchone()[0] == 0
        assert con.execute("SELECT COUNT(*) FROM people WHERE id = ?", (p["id"],)).fetchone()[0] == 0
        assert cells_containing(con, c["id"]) == []
    finally:
        con.close()
    assert people(server, other) == [kept]
