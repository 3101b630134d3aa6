"""The public pages as a browser meets them (issue 10): an unknown page is an
HTML 404 page (with lang, a title and a way home), while unknown /v1 paths
keep answering problem documents; the notice of a store that does not exist
is a 404 too; /favicon.ico is a real icon; GET /v1/privacy says how long
purchases are kept."""
import re
import struct

import pytest

from conftest import assert_ok, assert_problem


@pytest.mark.parametrize("path", ["/nowhere", "/me/extra", "/counter/x", "/static/nope.js",
                                  "/stores/", "/stores/not a store", "/index.html.bak",
                                  "/" + "x" * 900])
def test_unknown_page_is_an_html_404(server, path):
    r = server.get(path, headers={"Accept": "text/html"})
    assert r.status_code == 404, (path, r.status_code)
    assert r.headers["Content-Type"].startswith("text/html"), r.headers["Content-Type"]
    assert re.search(r'<html lang="en"', r.text)
    title = re.search(r"<title>([^<]+)</title>", r.text)
    assert title and "not found" in title.group(1).lower()
    assert 'href="/"' in r.text, "a way home"
    # HEAD answers the same status without a body
    assert server.call("HEAD", path).status_code == 404


def test_api_paths_keep_problem_documents(server):
    for path in ["/v1/nowhere", "/v1/brands/x/nothing/here", "/v1/"]:
        assert_problem(server.get(path), 404)
    # a wrong method on a page is still a problem, not a page
    assert_problem(server.post("/nowhere", json={}), 404)


def test_unknown_store_notice_is_404_known_is_200(server):
    b = server.new_brand()
    s = server.new_store(b)
    r = server.get(f"/stores/{s['id']}")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    missing = "st_" + "0" * 20
    r = server.get(f"/stores/{missing}")
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/html")
    assert "We could not find this store" in r.text


def test_favicon(server):
    r = server.get("/favicon.ico")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "image/x-icon"
    reserved, kind, count = struct.unpack("<HHH", r.content[:6])
    assert (reserved, kind) == (0, 1) and count >= 1
    sizes = {r.content[6 + 16 * i] or 256 for i in range(count)}
    assert {16, 32} <= sizes


def test_privacy_says_how_long_purchases_are_kept(server):
    p = assert_ok(server.get("/v1/privacy"))["retention"]
    text = p["purchases"]
    assert "history" in text and "no time limit" in text and "deleting your account" in text
