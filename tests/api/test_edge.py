"""
The HTTP edge: what is refused from a request's headers alone, ambiguous
framing, and the bounds one client address can hold (issue 11).

Raw sockets, because the point is what happens before (or instead of) a
well-formed request: a body that is announced but never sent, two
Content-Length headers, a NUL in the path, connections left idle.
"""
import json
import socket
import time

import pytest
import requests

from conftest import PROBLEM_TYPE

MIB = 1024 * 1024


def connect(server, source="127.0.0.1", timeout=5):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=timeout,
                                 source_address=(source, 0))
    s.settimeout(timeout)
    return s


def read_response(s, timeout=5):
    """Reads one response (headers and a Content-Length body); returns
    (status, headers, body) or raises socket.timeout."""
    s.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        if not b:
            raise ConnectionError(f"closed before a response: {buf!r}")
        buf += b
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        b = s.recv(65536)
        if not b:
            break
        rest += b
    return status, headers, rest[:n]


def trickle(s, pieces, every=0.5):
    """Sends each piece after a pause; True as soon as the server has closed
    the connection, False when every piece went out and it is still open."""
    for piece in pieces:
        time.sleep(every)
        try:
            s.sendall(piece)
        except OSError:
            return True
        s.settimeout(0.01)
        try:
            if s.recv(1) == b"":
                return True
        except socket.timeout:
            pass
        except OSError:
            return True
    return False


def send_raw(server, data, timeout=5):
    s = connect(server, timeout=timeout)
    try:
        s.sendall(data)
        return read_response(s, timeout)
    finally:
        s.close()


def assert_raw_problem(resp, status, detail_contains):
    code, headers, body = resp
    assert code == status, (code, body)
    assert headers.get("content-type", "").startswith(PROBLEM_TYPE), headers
    doc = json.loads(body)
    assert doc["status"] == status
    assert detail_contains in doc["detail"], doc["detail"]
    return doc


def head(method, path, *extra):
    lines = [f"{method} {path} HTTP/1.1", "Host: shop.example", *extra, "", ""]
    return "\r\n".join(lines).encode()


# ---- refused from the headers, before any of the body -------------------------


def test_a_route_that_needs_a_token_refuses_a_large_body_from_its_headers(server):
    """No body byte is sent: the answer must come from the headers alone
    (before, the server waited for the whole megabyte)."""
    resp = send_raw(server, head("POST", "/v1/sightings", f"Content-Length: {MIB}",
                                 "Content-Type: application/json"), timeout=3)
    assert_raw_problem(resp, 401, "Authorization")
    resp = send_raw(server, head("POST", "/v1/sightings", f"Content-Length: {MIB}",
                                 "Authorization: Bearer sk_not_a_real_token_at_all_123"),
                    timeout=3)
    assert_raw_problem(resp, 401, "not valid")


def test_a_token_of_the_wrong_kind_is_refused_before_its_body(server):
    customer = server.new_customer()
    resp = send_raw(server, head("POST", "/v1/sightings", f"Content-Length: {MIB}",
                                 f"Authorization: Bearer {customer['token']}"), timeout=3)
    assert_raw_problem(resp, 403, "customer token may not call")


def test_a_sign_in_larger_than_its_limit_gets_413_from_content_length(server):
    """A sign-in is a few fields: its limit is a few KiB, far under
    --max-body, and a larger announced body is refused unread."""
    resp = send_raw(server, head("POST", "/v1/sessions", f"Content-Length: {MIB}"), timeout=3)
    doc = assert_raw_problem(resp, 413, "limit of 4096 bytes")
    assert "endpoint" in doc["detail"]
    resp = send_raw(server, head("POST", "/v1/customers", "Content-Length: 20000"), timeout=3)
    assert_raw_problem(resp, 413, "limit of 4096 bytes")


def test_a_chunked_body_is_cut_off_at_the_routes_limit(server):
    """No Content-Length to judge by: the body is dropped as soon as it
    passes the limit, and the answer is 413 (not a 422 about the fields)."""
    chunk = b"1000\r\n" + b" " * 4096 + b"\r\n"
    data = (head("POST", "/v1/sessions", "Transfer-Encoding: chunked",
                 "Content-Type: application/json")
            + b"5\r\n{\"a\":\r\n" + chunk * 4 + b"3\r\n1}\n\r\n0\r\n\r\n")
    assert_raw_problem(send_raw(server, data), 413, "limit of 4096 bytes")


def test_each_route_has_a_limit_that_fits_it(server):
    """A sightings batch may be far larger than a sign-in; an ordinary JSON
    route sits between them. Announced sizes only: nothing is sent."""
    scanner_ok = send_raw(server, head("POST", "/v1/sightings", "Content-Length: 200000",
                                       f"Authorization: Bearer {server.op_token}"), timeout=3)
    # an operator may not post sightings: refused as a 403, not as too large
    assert_raw_problem(scanner_ok, 403, "an operator token may not call")
    resp = send_raw(server, head("POST", "/v1/brands", "Content-Length: 100000",
                                 f"Authorization: Bearer {server.op_token}"), timeout=3)
    assert_raw_problem(resp, 413, "limit of 16384 bytes")
    # within the limit the request goes through as before
    r = server.post("/v1/customers", json={"name": "Jo", "email": "x" * 3000 + "@example.org",
                                           "password": "correct horse battery"})
    assert r.status_code == 422, r.text


def test_a_page_request_with_a_body_is_refused_unread(server):
    resp = send_raw(server, head("GET", "/", f"Content-Length: {MIB}"), timeout=3)
    assert_raw_problem(resp, 413, "takes no body")


# ---- framing --------------------------------------------------------------------


@pytest.mark.parametrize("extra, detail", [
    (("Content-Length: 2", "Content-Length: 40"), "two different Content-Length"),
    (("Content-Length: 2", "Content-Length: 2"), "repeats Content-Length"),
    (("Content-Length: 2", "Transfer-Encoding: chunked"), "both Transfer-Encoding"),
    (("Transfer-Encoding: gzip",), "only Transfer-Encoding accepted"),
])
def test_ambiguous_framing_is_refused(server, extra, detail):
    """Two parsers (a proxy and this server) could read these differently;
    libmicrohttpd alone takes the first Content-Length, or lets chunked win."""
    data = head("POST", "/v1/sessions", *extra) + b"{}"
    assert_raw_problem(send_raw(server, data), 400, detail)


@pytest.mark.parametrize("target", [
    b"/v1/brands%00/x",
    b"/v1/brands\x00/x",
    b"/v1/brands?limit=5\x00",
    b"/v1/br%zznds",
    b"/v1/brands/%4",
])
def test_a_path_with_nul_or_broken_percent_encoding_is_refused(server, target):
    """Before, /v1/brands\\0/x was answered as /v1/brands."""
    data = b"GET " + target + b" HTTP/1.1\r\nHost: shop.example\r\n\r\n"
    assert_raw_problem(send_raw(server, data), 400, "malformed")


def test_well_formed_requests_still_pass(server):
    data = b"GET /v1/brands?limit=5 HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n"
    code, _, body = send_raw(server, data)
    assert code == 200 and "items" in json.loads(body)
    r = server.post("/v1/sessions", json={"email": "nobody@example.org", "password": "x" * 20})
    assert r.status_code == 401


# ---- bounds per address -------------------------------------------------------


def test_idle_connections_from_one_address_do_not_starve_another(server_factory):
    """127.0.0.2 opens more idle connections than the server takes in all;
    127.0.0.1 is still served at once. Before, the idle ones took every
    slot and 127.0.0.1 was refused."""
    srv = server_factory(extra_args=["--max-connections", "100", "--max-per-address", "20"])
    held = []
    try:
        for _ in range(120):
            try:
                held.append(connect(srv, source="127.0.0.2", timeout=2))
            except OSError:
                break
        time.sleep(0.3)
        # the ones past the per-address limit were closed at once
        closed = 0
        for s in held:
            s.settimeout(0.05)
            try:
                if s.recv(1) == b"":
                    closed += 1
            except socket.timeout:
                pass
            except OSError:
                closed += 1
        assert closed >= 100 - 20, f"only {closed} of {len(held)} extra connections were closed"
        worst = 0.0
        for _ in range(20):
            t = time.monotonic()
            r = requests.get(srv.url("/v1/brands"), timeout=5)
            worst = max(worst, time.monotonic() - t)
            assert r.status_code == 200
        assert worst < 0.5, f"127.0.0.1 waited {worst:.2f} s"
    finally:
        for s in held:
            s.close()


def test_headers_that_never_complete_are_dropped_quickly(server_factory):
    srv = server_factory(extra_args=["--header-timeout", "2"])
    s = connect(srv, timeout=10)
    try:
        s.sendall(b"GET /v1/brands HTTP/1.1\r\nHost: sho")
        t = time.monotonic()
        try:
            got = s.recv(100)
        except ConnectionResetError:
            got = b""
        waited = time.monotonic() - t
        assert got == b"" and waited < 6, f"still open after {waited:.1f} s: {got!r}"
    finally:
        s.close()


def test_a_body_that_trickles_is_dropped(server_factory):
    """One byte every half second keeps an idle timeout happy forever; the
    body timeout ends it."""
    srv = server_factory(extra_args=["--body-timeout", "2", "--header-timeout", "5"])
    s = connect(srv, timeout=10)
    t = time.monotonic()
    try:
        s.sendall(head("POST", "/v1/sessions", "Content-Length: 1000"))
        closed = trickle(s, (b" " for _ in range(20)))
        assert closed, "the trickling body was still being read after 10 s"
        assert time.monotonic() - t < 7
    finally:
        s.close()
    assert "http.body_timeout" in srv.stderr()


def test_headers_that_trickle_are_dropped_too(server_factory):
    """A header byte every half second keeps libmicrohttpd's idle timeout
    happy forever (slowloris); the headers must be complete within
    --header-timeout all the same."""
    srv = server_factory(extra_args=["--header-timeout", "2"])
    s = connect(srv, timeout=10)
    t = time.monotonic()
    try:
        s.sendall(b"GET /v1/brands HTTP/1.1\r\n")
        closed = trickle(s, (b"X-Slow-%d: 1\r\n" % i for i in range(24)))
        waited = time.monotonic() - t
        assert closed, "trickled headers were still being read after 12 s"
        assert waited < 5, f"closed only after {waited:.1f} s"
        # and a keep-alive connection that answers in time is served normally
        s2 = connect(srv)
        s2.sendall(head("GET", "/v1/brands"))
        assert read_response(s2)[0] == 200
        s2.close()
    finally:
        s.close()
