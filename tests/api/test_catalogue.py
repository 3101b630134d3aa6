"""Catalogue items (issue 5): PUT/GET items with validation, the CSV import
through the API with its summary and line numbers, and `shopkeeper import
items` on the command line."""
import json
import subprocess

import pytest

from conftest import pg_env, db_args, BIN, assert_ok, assert_problem, uniq


@pytest.fixture(scope="module")
def shop(server):
    b = server.new_brand(name="Marlowe Test Books")
    return {"brand": b, "admin": server.new_staff(b, "admin"),
            "manager": server.new_staff(b, "manager"),
            "counter": server.new_staff(b, "counter")}


BOOK = {"title": "The Night Manager", "category": "books/fiction/thrillers",
        "maker": "John le Carré", "tags": ["spies", "classic"], "released": "1993-06-29",
        "consumable": False}


def test_item_create_update_get(server, shop):
    b, admin = shop["brand"], shop["admin"]
    sku = uniq("bk-")
    r = server.put(f"/v1/brands/{b['id']}/items/{sku}", admin["token"], json=BOOK)
    item = assert_ok(r, 201)
    assert item["sku"] == sku and item["title"] == BOOK["title"]
    assert item["category"] == "books/fiction/thrillers" and item["maker"] == "John le Carré"
    assert item["tags"] == ["spies", "classic"] and item["consumable"] is False
    assert item["released"] == "1993-06-29"
    # update by a manager: 200, fields replaced
    upd = dict(BOOK, title="The Night Manager (pbk)", tags=[], consumable=True)
    item2 = assert_ok(server.put(f"/v1/brands/{b['id']}/items/{sku}", shop["manager"]["token"],
                                 json=upd), 200)
    assert item2["title"] == "The Night Manager (pbk)" and item2["tags"] == []
    assert item2["consumable"] is True and item2["created_at"] == item["created_at"]
    # public reads, by id and by slug
    got = assert_ok(server.get(f"/v1/brands/{b['slug']}/items/{sku}"))
    assert got == item2
    assert_problem(server.get(f"/v1/brands/{b['id']}/items/nope-{sku}"), 404)


def test_item_roles_and_validation(server, shop):
    b = shop["brand"]
    path = f"/v1/brands/{b['id']}/items/{uniq('v-')}"
    # counter staff and customers may not write the catalogue
    assert_problem(server.put(path, shop["counter"]["token"], json=BOOK), 403)
    assert_problem(server.put(path, json=BOOK), 401)
    tok = shop["admin"]["token"]
    for body, field in [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "T", "category": "books//fiction"}, "category"),
        ({"title": "T", "category": "/books"}, "category"),
        ({"title": "T", "category": "/".join(["a"] * 9)}, "category"),
        ({"title": "T", "tags": "spies"}, "tags"),
        ({"title": "T", "tags": ["ok", 3]}, "tags[1]"),
        ({"title": "T", "tags": [f"t{i}" for i in range(31)]}, "tags"),
        ({"title": "T", "released": "1993-02-30"}, "released"),
        ({"title": "T", "released": "yesterday"}, "released"),
        ({"title": "T", "consumable": "yes"}, "consumable"),
        ({"title": "T", "maker": "m" * 121}, "maker"),
    ]:
        assert_problem(server.put(path, tok, json=body), 422, field)
    # a SKU outside [A-Za-z0-9_-]
    assert_problem(server.put(f"/v1/brands/{b['id']}/items/bad.sku", tok, json=BOOK), 422, "sku")
    assert_problem(server.put(path, tok, data="not json"), 400)


def test_item_list_is_paged(server):
    b = server.new_brand()
    admin = server.new_staff(b, "admin")
    skus = sorted(f"sku-{i:03d}" for i in range(7))
    for s in skus:
        assert_ok(server.put(f"/v1/brands/{b['id']}/items/{s}", admin["token"],
                             json={"title": f"Item {s}"}), 201)
    seen, after = [], None
    while True:
        params = {"limit": 3}
        if after:
            params["after"] = after
        page = assert_ok(server.get(f"/v1/brands/{b['id']}/items", params=params))
        seen += [i["sku"] for i in page["items"]]
        after = page["next"]
        if not after:
            break
    assert seen == skus
    assert_problem(server.get(f"/v1/brands/{b['id']}/items", params={"limit": 0}), 422, "limit")


CSV = """sku,title,category,author,tags,released,consumable
bk-1,The Spy Who Came in from the Cold,books/fiction/thrillers,John le Carré,spies;cold war,1963-09-01,no
bk-2,"Gardening, for Everyone",books/home/gardening,"Monty ""the gardener"" Don",garden,2019-03-01,
bk-3,,books/fiction,Nobody,,,
bk-4,Bad date,books/fiction,X,,2019-13-01,no
bad sku!,Whatever,books,X,,,
bk-5,Coffee beans,food/coffee,Pike,,,yes
bk-6,Too few fields
bk-1,The Spy Who Came in from the Cold (2nd ed.),books/fiction/thrillers,John le Carré,,,no
"""


def test_csv_import_summary_with_line_numbers(server):
    b = server.new_brand()
    admin = server.new_staff(b, "admin")
    r = server.post(f"/v1/brands/{b['id']}/items/import", admin["token"], data=CSV.encode(),
                    headers={"Content-Type": "text/csv"})
    s = assert_ok(r, 200)
    assert s["imported"] == 3 and s["updated"] == 1, s
    assert s["rejected_count"] == 4
    by_line = {x["line"]: x["reason"] for x in s["rejected"]}
    assert set(by_line) == {4, 5, 6, 8}, s
    assert by_line[4].startswith("title")
    assert by_line[5].startswith("released")
    assert by_line[6].startswith("sku")
    assert "fields" in by_line[8]
    item = assert_ok(server.get(f"/v1/brands/{b['id']}/items/bk-2"))
    assert item["title"] == "Gardening, for Everyone"
    assert item["maker"] == 'Monty "the gardener" Don'
    assert assert_ok(server.get(f"/v1/brands/{b['id']}/items/bk-5"))["consumable"] is True
    one = assert_ok(server.get(f"/v1/brands/{b['id']}/items/bk-1"))
    assert one["title"].endswith("(2nd ed.)") and one["tags"] == []
    # a second import of the same file: everything that was good is an update
    s2 = assert_ok(server.post(f"/v1/brands/{b['id']}/items/import", admin["token"],
                               data=CSV.encode(), headers={"Content-Type": "text/csv"}))
    assert s2["imported"] == 0 and s2["updated"] == 4 and s2["rejected_count"] == 4


def test_csv_import_header_and_type(server):
    b = server.new_brand()
    admin = server.new_staff(b, "admin")
    path = f"/v1/brands/{b['id']}/items/import"
    h = {"Content-Type": "text/csv"}
    assert_problem(server.post(path, admin["token"], data=b"title,price\nx,1\n", headers=h), 422,
                   "header")
    assert_problem(server.post(path, admin["token"], data=b"sku,category\nx,y\n", headers=h), 422,
                   "title")
    assert_problem(server.post(path, admin["token"], data=b"", headers=h), (415, 422))
    # JSON is not a CSV import
    assert_problem(server.post(path, admin["token"], json={"sku": "x"}), 415)
    # counter staff may not import
    counter = server.new_staff(b, "counter")
    assert_problem(server.post(path, counter["token"], data=b"sku,title\na,b\n", headers=h), 403)
    # over the body limit: 413
    big = b"sku,title\n" + b"x,y\n" * 300000
    assert_problem(server.post(path, admin["token"], data=big, headers=h), 413)


def test_cli_import_items(server_factory, tmp_path):
    srv = server_factory()
    b = srv.new_brand()
    f = tmp_path / "items.csv"
    f.write_text(CSV)
    srv.stop()
    env = {"PATH": "/usr/bin:/bin", **pg_env()}
    p = subprocess.run([BIN, "import", "items", str(f), "--brand", b["slug"], *db_args(srv.db)],
                       capture_output=True, text=True, env=env, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 1, p.stderr  # some rows rejected
    s = json.loads(p.stdout)  # not a terminal: no progress bar, only the summary
    assert s["imported"] == 3 and s["updated"] == 1
    assert sorted(x["line"] for x in s["rejected"]) == [4, 5, 6, 8]
    good = tmp_path / "good.csv"
    good.write_text("sku,title\nok-1,Fine\n")
    p = subprocess.run([BIN, "import", "items", str(good), "--brand", b["id"], 
                        *db_args(srv.db)], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0 and json.loads(p.stdout)["imported"] == 1
    p = subprocess.run([BIN, "import", "items", str(good), "--brand", "no-such-brand", 
                        *db_args(srv.db)], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 2 and "no brand" in p.stderr
    p = subprocess.run([BIN, "import", "things", str(good), "--brand", b["id"]],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 2
    # the items are there for a server on the same database
    srv2 = server_factory(db=srv.db)
    assert assert_ok(srv2.get(f"/v1/brands/{b['id']}/items/ok-1"))["title"] == "Fine"
    assert assert_ok(srv2.get(f"/v1/brands/{b['id']}/items/bk-2"))["category"] == \
        "books/home/gardening"
