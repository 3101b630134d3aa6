"""GET /metrics: what retail IT's Prometheus scrapes — requests by route and
status with latency histograms, sightings and what became of them, open
visits, connected displays, the database's health and each brand's model
age — for an operator only, and never a person's data."""
import re
import uuid

from conftest import assert_ok, assert_problem
from recog_support import Device, Shop, member

LINE = re.compile(r'^([a-z_:][a-z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})? (\S+)$')


def scrape(server):
    r = server.get("/metrics", server.op_token)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples, types = {}, {}
    for line in r.text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        m = LINE.match(line)
        assert m, f"not Prometheus text: {line!r}"
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        samples[(m.group(1), tuple(sorted(labels.items())))] = float(m.group(3))
    # every sample belongs to a declared metric family
    for name, _ in samples:
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in types or family in types, name
    return samples, r.text


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_for_operators_only(server):
    assert_problem(server.get("/metrics"), 401)
    b = server.new_brand()
    admin = server.new_staff(b, "admin")
    assert_problem(server.get("/metrics", admin["token"]), 403)
    c = server.new_customer()
    assert_problem(server.get("/metrics", c["token"]), 403)


def test_requests_are_counted_by_route_and_status_with_their_latency(server):
    before, _ = scrape(server)
    route = "GET /v1/brands/{brand}"
    for _ in range(3):
        server.get("/v1/brands/no-such-brand-here")
    b = server.new_brand()
    assert_ok(server.get(f"/v1/brands/{b['id']}"))
    after, text = scrape(server)
    assert value(after, "shopkeeper_http_requests_total", route=route, status="404") \
        - value(before, "shopkeeper_http_requests_total", route=route, status="404") == 3
    assert value(after, "shopkeeper_http_requests_total", route=route, status="200") \
        - value(before, "shopkeeper_http_requests_total", route=route, status="200") == 1
    # the histogram: cumulative buckets ending in +Inf, which equals the count,
    # which equals the requests counted for the route
    buckets = sorted(((float("inf") if dict(k[1])["le"] == "+Inf" else float(dict(k[1])["le"])), v)
                     for k, v in after.items()
                     if k[0] == "shopkeeper_http_request_duration_seconds_bucket"
                     and dict(k[1])["route"] == route)
    assert buckets[-1][0] == float("inf")
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))
    total = sum(v for k, v in after.items()
                if k[0] == "shopkeeper_http_requests_total" and dict(k[1])["route"] == route)
    assert buckets[-1][1] == total
    assert value(after, "shopkeeper_http_request_duration_seconds_count", route=route) == total
    assert value(after, "shopkeeper_http_request_duration_seconds_sum", route=route) > 0
    # a refused request counts under its route, not under "none"
    server.get("/metrics")
    again, _ = scrape(server)
    assert value(again, "shopkeeper_http_requests_total", route="GET /metrics", status="401") >= 1
    # nothing a person typed, no token
    assert server.op_token not in text


def test_sightings_visits_displays_and_the_database(server):
    b = server.new_brand()
    admin = server.new_staff(b, "admin")
    shop = Shop(server, b, admin["token"])
    c = member(server, shop.brand, ["recognition"], name="Metric Regular")
    phone = Device(k=8)
    phone.register(server, c)
    before, _ = scrape(server)
    shop.sight(phone.eid(), bytes(8).hex())  # the member, and an unknown identifier
    after, text = scrape(server)
    got = lambda o: value(after, "shopkeeper_sightings_total", outcome=o) \
        - value(before, "shopkeeper_sightings_total", outcome=o)
    assert got("received") == 2
    assert got("resolved") == 1
    assert got("dropped_unknown") == 1
    assert value(after, "shopkeeper_visits_open") >= 1
    assert value(after, "shopkeeper_devices") >= 1
    assert value(after, "shopkeeper_database_up") == 1
    assert value(after, "shopkeeper_process_threads") > 1
    assert value(after, "shopkeeper_process_resident_bytes") > 1 << 20
    assert "Metric Regular" not in text
    assert ("shopkeeper_displays_connected", ()) in after
    assert ("shopkeeper_requests_waiting", (("lane", "fast"),)) in after


def test_a_brands_model_age(server):
    b = server.new_brand()
    admin = server.new_staff(b, "admin")
    store = server.new_store(b)
    for sku in ("m-1", "m-2"):
        assert_ok(server.put(f"/v1/brands/{b['id']}/items/{sku}", admin["token"],
                             json={"title": f"Item {sku}", "category": "things"}))
    assert_ok(server.post(f"/v1/brands/{b['id']}/purchases", admin["token"],
                          json={"store": store["id"],
                                "lines": [{"sku": "m-1", "qty": 1, "price": 5},
                                          {"sku": "m-2", "qty": 1, "price": 5}]},
                          headers={"Idempotency-Key": str(uuid.uuid4())}), 201)
    assert_ok(server.post(f"/v1/brands/{b['id']}/train", admin["token"], json={}))
    samples, _ = scrape(server)
    age = value(samples, "shopkeeper_suggest_model_age_seconds", brand=b["id"])
    assert ("shopkeeper_suggest_model_age_seconds", (("brand", b["id"]),)) in samples
    assert 0 <= age < 60
    assert value(samples, "shopkeeper_suggest_model_items", brand=b["id"]) == 2
