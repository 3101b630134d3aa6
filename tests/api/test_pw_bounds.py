"""Password hashing under a bound (issue 11): sign-ups are limited per address,
and a flood of sign-ins from many addresses gets 503 with Retry-After for
those beyond the hashing pool and its short queue, instead of every request
taking 32 MiB and a thread at once; the service still answers others."""
import http.client
import json
import secrets
import threading
import time

from conftest import assert_ok, uniq


def call(srv, method, path, body=None, source="127.0.0.1", timeout=30):
    """One request from a chosen loopback address."""
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout,
                                   source_address=(source, 0))
    try:
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        return r.status, dict(r.getheaders()), (json.loads(data) if data else None)
    finally:
        c.close()


def test_sign_ups_are_limited_per_address(server_factory):
    srv = server_factory(extra_args=["--signups-per-hour", "10"])
    def sign_up(source):
        return call(srv, "POST", "/v1/customers",
                    {"name": "N", "email": f"{uniq('s')}@example.com",
                     "password": "pw-" + secrets.token_urlsafe(9)}, source=source)
    for _ in range(10):
        assert sign_up("127.0.0.7")[0] == 201
    status, headers, body = sign_up("127.0.0.7")
    assert status == 429
    assert int(headers["Retry-After"]) > 0
    assert "Try again in" in body["detail"] and "seconds" not in body["detail"].split("in", 1)[1][:12]
    # another address is not held back by it
    assert sign_up("127.0.0.8")[0] == 201


def test_a_flood_of_sign_ins_is_bounded(server_factory):
    srv = server_factory()
    email, password = f"{uniq('f')}@example.com", "flood-pw-" + secrets.token_urlsafe(6)
    assert call(srv, "POST", "/v1/customers", {"name": "F", "email": email, "password": password})[0] == 201
    results, lock = [], threading.Lock()
    go = threading.Event()

    def sign_in(i):
        go.wait()
        # each from its own address: the per-address limits do not apply
        st, headers, body = call(srv, "POST", "/v1/sessions", {"email": email, "password": password},
                                 source=f"127.0.1.{i + 1}")
        with lock:
            results.append((st, headers.get("Retry-After"), body))

    n = 60
    threads = [threading.Thread(target=sign_in, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    go.set()
    # while the flood runs, a request that needs no hashing is answered at once
    t0 = time.monotonic()
    assert call(srv, "GET", "/v1/brands", source="127.0.2.1")[0] == 200
    assert time.monotonic() - t0 < 2.0
    for t in threads:
        t.join(60)
    statuses = sorted(r[0] for r in results)
    assert len(results) == n
    assert set(statuses) <= {201, 503}, statuses
    ok, busy = statuses.count(201), statuses.count(503)
    assert ok >= 1 and busy >= 1, statuses      # some served, the rest told to come back
    for st, retry, body in results:
        if st == 503:
            assert retry and int(retry) >= 1
            assert "try again in a few seconds" in body["detail"]
    # and when the flood is over, signing in works at once
    assert call(srv, "POST", "/v1/sessions", {"email": email, "password": password},
                source="127.0.3.1")[0] == 201
