"""Counter displays cost a socket, not a thread: a node holds hundreds of
open card streams with a handful of threads, each stream still gets its
card at once and its keep-alive, and the server stops cleanly while
streams are open and a request is still being handled."""
import json
import os
import selectors
import signal
import socket
import threading
import time

from conftest import assert_ok
from recog_support import Device, Shop, member

DISPLAYS = 300          # more than a thread-per-connection server would hold with few threads
PER_ADDRESS = 50        # under the default limit of 64 connections per client address


def threads_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads: line")


def open_streams(server, store_id, key, n, first_address=2):
    """n raw connections, each GETting the store's card stream, from
    127.0.0.2, .3, ... (PER_ADDRESS each); returns the sockets once each
    has its 200 and the stream's opening comment."""
    socks = []
    try:
        for i in range(n):
            s = socket.socket()
            socks.append(s)
            s.bind((f"127.0.0.{first_address + i // PER_ADDRESS}", 0))
            s.connect(("127.0.0.1", server.port))
            s.sendall((f"GET /v1/stores/{store_id}/cards/stream HTTP/1.1\r\nHost: x\r\n"
                       f"Authorization: Bearer {key}\r\nAccept: text/event-stream\r\n\r\n").encode())
        bufs = read_until(socks, lambda b: b"keep-alive every" in b, timeout=20)
        for s, b in zip(socks, bufs):
            assert b.startswith(b"HTTP/1.1 200"), b[:200]
    except BaseException:
        for s in socks:
            s.close()
        raise
    return socks


def read_until(socks, done, timeout):
    """Reads every socket until done(bytes read from it) holds for each;
    returns what was read per socket (fails on timeout, naming how many)."""
    bufs = [b""] * len(socks)
    waiting = set(range(len(socks)))
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        sel.register(s, selectors.EVENT_READ, i)
    deadline = time.monotonic() + timeout
    try:
        while waiting and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.2):
                i = key.data
                chunk = key.fileobj.recv(65536)
                bufs[i] += chunk
                if not chunk or done(bufs[i]):
                    waiting.discard(i)
                    sel.unregister(key.fileobj)
    finally:
        sel.close()
    assert not waiting, f"{len(waiting)} of {len(socks)} streams did not get it in {timeout}s"
    return bufs


def a_member_at(server, shop):
    c = member(server, shop.brand, ["recognition"], name="Ada Regular")
    phone = Device(k=8)
    phone.register(server, c)
    return phone


def test_hundreds_of_displays_few_threads_each_gets_the_card(server):
    b = server.new_brand()
    admin = server.new_staff(b, "admin")
    shop = Shop(server, b, admin["token"])
    phone = a_member_at(server, shop)
    before = threads_of(server.proc.pid)
    socks = open_streams(server, shop.id, shop.display, DISPLAYS)
    try:
        during = threads_of(server.proc.pid)
        # a thread per stream would be 300 more; the network threads and the
        # workers are there already and do not grow with the streams
        assert during - before < 10, (before, during)
        assert during < 64, during
        shop.sight(phone.eid())
        bufs = read_until(socks, lambda b: b"event: card" in b, timeout=10)
        assert all(b"Ada Regular" in b for b in bufs)
    finally:
        for s in socks:
            s.close()


def test_a_quiet_stream_gets_its_keep_alive(server):
    """An idle stream holds no thread: the keep-alive that tells the display
    the server is still there is queued by a timer and wakes the stream."""
    b = server.new_brand()
    admin = server.new_staff(b, "admin")
    shop = Shop(server, b, admin["token"])
    (s,) = open_streams(server, shop.id, shop.display, 1)
    try:
        t0 = time.monotonic()
        (buf,) = read_until([s], lambda b: b": keep-alive\n\n" in b, timeout=25)
        waited = time.monotonic() - t0
        assert 10 < waited < 20, waited  # every 15 s, as the stream's first comment says
    finally:
        s.close()


def test_stops_cleanly_with_streams_open_and_requests_in_flight(server_factory):
    srv = server_factory()
    b = srv.new_brand()
    admin = srv.new_staff(b, "admin")
    shop = Shop(srv, b, admin["token"])
    socks = open_streams(srv, shop.id, shop.display, 40)
    # sign-ups hash passwords on the slow lane while the server is told to stop
    results = []

    def sign_up(i):
        try:
            r = srv.http.post(srv.url("/v1/customers"), timeout=20,
                              json={"name": "Late", "email": f"late{i}-{os.getpid()}@example.com",
                                    "password": "late-password-1"})
            results.append(r.status_code)
        except Exception as e:  # the server went away under it: acceptable
            results.append(type(e).__name__)

    workers = [threading.Thread(target=sign_up, args=(i,)) for i in range(6)]
    for w in workers:
        w.start()
    time.sleep(0.05)
    srv.proc.send_signal(signal.SIGTERM)
    srv.proc.wait(timeout=20)
    for w in workers:
        w.join(timeout=20)
    assert srv.proc.returncode == 0, srv.stderr()[-2000:]
    assert "Fatal error" not in srv.stderr()
    # every stream was ended by the server, not left hanging
    for s in socks:
        s.settimeout(5)
        while s.recv(65536):
            pass
        s.close()


def test_a_display_that_went_away_frees_its_place_within_seconds(server):
    """A suspended stream is not watched by libmicrohttpd: without a look
    of our own, a display that reloads or loses its network would hold its
    socket and its address's share of --max-per-address (64) until a
    keep-alive failed, about 30 s. A store's displays behind one address
    that reconnect must get back in well before that."""
    b = server.new_brand()
    admin = server.new_staff(b, "admin")
    shop = Shop(server, b, admin["token"])
    old = open_streams(server, shop.id, shop.display, PER_ADDRESS, first_address=40)
    for s in old:
        s.close()
    # each quiet stream is looked at every 5 s (SSE_GONE_EVERY); a keep-alive
    # alone would find them gone only after about 30 s
    time.sleep(8)
    again = open_streams(server, shop.id, shop.display, PER_ADDRESS, first_address=40)
    for s in again:
        s.close()


# ---- events written straight to a quiet stream's socket (sse.c) -------------

def split_response(raw):
    """(status line + headers, body) of a raw HTTP response."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    assert sep, raw[:300]
    return head, body


def dechunk(body):
    """Decodes a chunked body strictly: (the data of every whole chunk,
    whether the zero chunk ended it); an incomplete last chunk is left out,
    anything that is not chunk framing fails."""
    data, at = b"", 0
    while at < len(body):
        eol = body.find(b"\r\n", at)
        if eol < 0:
            break
        size_text = body[at:eol]
        assert size_text and all(c in b"0123456789abcdefABCDEF" for c in size_text), \
            f"not a chunk size at byte {at}: {body[at:at + 40]!r}"
        size = int(size_text, 16)
        if size == 0:
            return data, True
        end = eol + 2 + size
        if end + 2 > len(body):
            break
        assert body[end:end + 2] == b"\r\n", f"chunk at byte {at} does not end in CRLF"
        data += body[eol + 2:end]
        at = end + 2
    return data, False


def sse_events(data):
    """The (event, data) blocks of an event stream's text, comments skipped
    (an event still incomplete at the end left out)."""
    out = []
    for block in data.decode().split("\n\n")[:-1]:
        fields = dict(line.split(": ", 1) for line in block.split("\n")
                      if line and not line.startswith(":") and ": " in line)
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"])))
    return out


def a_card_on_show(server):
    b = server.new_brand()
    admin = server.new_staff(b, "admin")
    shop = Shop(server, b, admin["token"])
    return shop, a_member_at(server, shop)


def toggle_served(server, shop, visit, times):
    """Marks the card served and unserved, times in all: an "update" each."""
    path = f"/v1/stores/{shop.id}/cards/{visit}/served"
    for i in range(times):
        r = (server.post if i % 2 == 0 else server.delete)(path, shop.display)
        assert r.status_code == 200, r.text


def stream_socket(server, shop, version="1.1", rcvbuf=None):
    """A display's raw stream request, nothing read yet."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", server.port))
    s.sendall((f"GET /v1/stores/{shop.id}/cards/stream HTTP/{version}\r\nHost: x\r\n"
               f"Authorization: Bearer {shop.display}\r\n\r\n").encode())
    return s


def read_all(sock, want_events, timeout=10):
    """Reads a raw stream until its body holds want_events events or it ends."""
    sock.settimeout(0.2)
    raw, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            chunk = None
        if chunk == b"":
            return raw, True
        raw += chunk or b""
        if b"\r\n\r\n" in raw:
            data, _ = dechunk(split_response(raw)[1])
            if len(sse_events(data)) >= want_events:
                return raw, False
    return raw, False


def test_events_sent_straight_to_quiet_streams_are_whole_chunks_in_order(server):
    """A quiet display's events are written by the publisher itself, framed
    as libmicrohttpd frames its chunks: a strict chunked decoder must see
    every event whole and in the order they happened."""
    shop, phone = a_card_on_show(server)
    s = stream_socket(server, shop)
    try:
        time.sleep(0.3)  # quiet (suspended) before the first event
        shop.sight(phone.eid())
        visit = shop.cards()[0]["visit"]
        toggle_served(server, shop, visit, 20)
        raw, ended = read_all(s, 21)
        assert not ended
        head, body = split_response(raw)
        assert b"transfer-encoding: chunked" in head.lower(), head
        data, _ = dechunk(body)
        events = sse_events(data)
        assert [e for e, _ in events] == ["card"] + ["update"] * 20, events
        assert [d["served"] for _, d in events[1:]] == [i % 2 == 0 for i in range(20)]
    finally:
        s.close()


def test_an_http10_display_gets_its_cards_unchunked(server):
    """HTTP/1.0 has no chunks: such a stream's events go through
    libmicrohttpd, as they are, and still arrive."""
    shop, phone = a_card_on_show(server)
    s = stream_socket(server, shop, version="1.0")
    try:
        (first,) = read_until([s], lambda b: b"keep-alive every" in b, timeout=10)
        shop.sight(phone.eid())
        (rest,) = read_until([s], lambda b: b"event: card" in b, timeout=10)
        head, body = split_response(first + rest)
        assert head.startswith(b"HTTP/1."), head
        assert b"chunked" not in head.lower(), head
        assert body.startswith(b"retry: 2000\n"), body[:80]
        assert [e for e, _ in sse_events(body)] == ["card"]
    finally:
        s.close()


def test_a_display_that_stops_reading_holds_up_no_one(server):
    """A display that stops reading fills its socket (SSE_SNDBUF): then its
    events wait in its queue, or, once its socket has taken part of one,
    its stream is ended; the store's other display gets every event at
    once, and what the stalled one gets is whole and in order."""
    shop, phone = a_card_on_show(server)
    stalled = stream_socket(server, shop, rcvbuf=2048)
    reader = stream_socket(server, shop)
    try:
        time.sleep(0.3)
        shop.sight(phone.eid())
        visit = shop.cards()[0]["visit"]
        toggles = 600
        toggle_served(server, shop, visit, toggles)
        raw, ended = read_all(reader, 1 + toggles)
        assert not ended
        events = sse_events(dechunk(split_response(raw)[1])[0])
        assert len(events) == 1 + toggles
        assert [d["served"] for _, d in events[1:]] == [i % 2 == 0 for i in range(toggles)]
        # now the stalled one reads
        raw, ended = read_all(stalled, 1 + toggles)
        got = sse_events(dechunk(split_response(raw)[1])[0])
        assert got == events[:len(got)], "the stalled display's events differ"
        # then the rest, or (its socket took part of an event) the end of
        # its stream, after which a display reconnects
        assert ended or len(got) == len(events), (len(got), ended)
    finally:
        reader.close()
        stalled.close()
