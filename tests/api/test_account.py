"""
Accounts (issue 10): login limits a stranger cannot use to lock a shopper
out, changing one's password, name and email, and forgotten passwords by a
one-time link mailed through a real SMTP relay (scripts/mail_sink.py, an
aiosmtpd sink on a free loopback port) or printed by
`shopkeeper admin password-link`.
"""
import email
import email.policy
import http.client
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import db_args, BIN, REPO, assert_ok, assert_problem, free_port, uniq

LINK = re.compile(r"(https?://\S+)/reset#token=(sk_[A-Za-z0-9_-]+)")
SAME_ANSWER = ("If an account uses this email, a link to choose a new password is on its way. "
               "It works once, for 30 minutes.")


# ---- helpers ---------------------------------------------------------------

class MailSink:
    """scripts/mail_sink.py on a free loopback port, saving to a directory."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", str(REPO / "scripts" / "mail_sink.py"), "--port",
             str(self.port), "--dir", str(self.dir)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        assert "listening" in line, line + self.proc.stdout.read()

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    def messages(self):
        return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in sorted(self.dir.glob("*.eml"))]

    def wait_for(self, to, count=1, timeout=10):
        """The messages to `to` once there are `count` of them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [m for m in self.messages() if m["To"].lower() == to.lower()]
            if len(got) >= count:
                return got
            time.sleep(0.05)
        pytest.fail(f"no mail to {to} within {timeout}s; sink holds "
                    f"{[m['To'] for m in self.messages()]}")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def sink(tmp_path):
    s = MailSink(tmp_path / "mail")
    yield s
    s.stop()


@pytest.fixture
def mailing_server(server_factory, sink):
    return server_factory(extra_args=["--smtp-url", sink.url, "--mail-from",
                                      "shop@shopkeeper.test", "--public-url",
                                      "http://shop.test/"])


def link_of(srv, message):
    """The one-time link in a mail: (base, token); the token is a secret of
    the server's log check from now on."""
    m = LINK.search(message.get_content())
    assert m, message.get_content()
    srv.secrets.add(m.group(2))
    return m.group(1), m.group(2)


def post_from(srv, address, path, body):
    """POST from another loopback source address (127.0.0.x): how a
    stranger's machine and the owner's look to the server."""
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=20,
                                   source_address=(address, 0))
    try:
        c.request("POST", path, body=json.dumps(body),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, dict(r.getheaders()), json.loads(r.read() or b"null")
    finally:
        c.close()


def login_status(srv, email_addr, password):
    return srv.post("/v1/sessions", json={"email": email_addr, "password": password}).status_code


# ---- 1. login limits ---------------------------------------------------------

def test_stranger_cannot_lock_the_owner_out(server_factory):
    srv = server_factory()
    victim = srv.new_customer()
    stranger, owner = "127.0.0.2", "127.0.0.3"
    for _ in range(5):
        st, _, body = post_from(srv, stranger, "/v1/sessions",
                                {"email": victim["email"], "password": "guess-guess-1"})
        assert st == 401, body
    # the stranger's address is refused for this account, right password or not
    for password in ("guess-guess-1", victim["password"]):
        st, headers, body = post_from(srv, stranger, "/v1/sessions",
                                      {"email": victim["email"], "password": password})
        assert st == 429, body
        assert body["detail"] == "Too many attempts. Try again in 15 minutes.", body
        assert 14 * 60 < int(headers["Retry-After"]) <= 15 * 60, headers
    # ... while the owner, from their own address, still gets in
    st, _, body = post_from(srv, owner, "/v1/sessions",
                            {"email": victim["email"], "password": victim["password"]})
    assert st == 201 and body["id"] == victim["id"], body
    # and the stranger can still try other accounts (up to the address limit)
    other = srv.new_customer()
    st, _, _ = post_from(srv, stranger, "/v1/sessions",
                         {"email": other["email"], "password": other["password"]})
    assert st == 201


def test_address_limit_says_when_in_words(server_factory):
    srv = server_factory()
    for i in range(30):
        st, _, _ = post_from(srv, "127.0.0.4", "/v1/sessions",
                             {"email": f"nobody{i}@example.com", "password": "whatever-123"})
        assert st == 401
    st, headers, body = post_from(srv, "127.0.0.4", "/v1/sessions",
                                  {"email": "x@example.com", "password": "whatever-123"})
    assert st == 429
    secs = int(headers["Retry-After"])
    assert 0 < secs <= 60
    assert re.fullmatch(r"Too many attempts\. Try again in (\d+ seconds?|1 minute)\.",
                        body["detail"]), body
    # another address is not affected
    st, _, _ = post_from(srv, "127.0.0.5", "/v1/sessions",
                         {"email": "x@example.com", "password": "whatever-123"})
    assert st == 401


# ---- 2. changing password, name and email -----------------------------------

def test_shopper_changes_password_other_sessions_end(server_factory):
    srv = server_factory()
    c = srv.new_customer()
    other = srv.login(c["email"], c["password"])["token"]
    r = srv.put("/v1/sessions/current/password", c["token"],
                json={"current_password": "not-my-password", "password": "new-password-1"})
    assert_problem(r, 403, "current_password")
    assert_problem(srv.put("/v1/sessions/current/password", c["token"],
                           json={"current_password": c["password"], "password": "short"}),
                   422, "at least 8")
    assert_problem(srv.put("/v1/sessions/current/password", c["token"],
                           json={"password": "new-password-1"}), 422, "current_password")
    # nothing changed so far
    assert_ok(srv.get("/v1/me", other))
    assert login_status(srv, c["email"], c["password"]) == 201

    out = assert_ok(srv.put("/v1/sessions/current/password", c["token"],
                            json={"current_password": c["password"],
                                  "password": "new-password-1"}))
    assert out["changed"] is True
    assert_ok(srv.get("/v1/me", c["token"]))                 # this session goes on
    assert_problem(srv.get("/v1/me", other), 401)            # the others end
    assert login_status(srv, c["email"], c["password"]) == 401
    assert login_status(srv, c["email"], "new-password-1") == 201


def test_wrong_current_passwords_are_limited(server_factory):
    srv = server_factory()
    c = srv.new_customer()
    for _ in range(5):
        assert_problem(srv.put("/v1/sessions/current/password", c["token"],
                               json={"current_password": "guess-guess-1",
                                     "password": "new-password-1"}), 403)
    r = srv.put("/v1/sessions/current/password", c["token"],
                json={"current_password": c["password"], "password": "new-password-1"})
    assert_problem(r, 429, "Too many attempts. Try again in 15 minutes.")
    assert login_status(srv, c["email"], c["password"]) == 201


def test_staff_change_their_own_password(server_factory):
    srv = server_factory()
    brand = srv.new_brand()
    s = srv.new_staff(brand, role="counter")
    assert_ok(srv.put("/v1/sessions/current/password", s["token"],
                      json={"current_password": s["password"], "password": "staff-new-pw-1"}))
    assert login_status(srv, s["email"], s["password"]) == 401
    assert srv.login(s["email"], "staff-new-pw-1")["kind"] == "staff"
    # the operator has no password to change
    assert_problem(srv.put("/v1/sessions/current/password", srv.op_token,
                           json={"current_password": "x" * 8, "password": "y" * 8}), 403)


def test_shopper_changes_name_and_email(server_factory):
    srv = server_factory()
    c = srv.new_customer(name="Jo Before")
    taken = srv.new_customer()
    me = assert_ok(srv.patch("/v1/me", c["token"], json={"name": "Jo After"}))
    assert me["name"] == "Jo After" and me["email"] == c["email"]

    new_email = f"{uniq('moved')}@Example.org"
    assert_problem(srv.patch("/v1/me", c["token"], json={"email": new_email}), 422,
                   "current_password")
    assert_problem(srv.patch("/v1/me", c["token"],
                             json={"email": new_email, "current_password": "wrong-password"}),
                   403, "current_password")
    assert_problem(srv.patch("/v1/me", c["token"],
                             json={"email": "not an email", "current_password": c["password"]}),
                   422, "email")
    # another account's email, in any case, stays theirs
    r = srv.patch("/v1/me", c["token"],
                  json={"email": taken["email"].upper(), "current_password": c["password"]})
    assert_problem(r, 409, "email")
    assert_problem(srv.patch("/v1/me", c["token"], json={}), 422)
    assert assert_ok(srv.get("/v1/me", c["token"]))["email"] == c["email"]

    me = assert_ok(srv.patch("/v1/me", c["token"],
                             json={"email": new_email, "current_password": c["password"],
                                   "name": "Jo Moved"}))
    assert me["email"] == new_email and me["name"] == "Jo Moved"
    assert login_status(srv, c["email"], c["password"]) == 401
    assert srv.login(new_email.lower(), c["password"])["id"] == c["id"]
    # the old address is free for someone else now
    assert_ok(srv.post("/v1/customers", json={"name": "Newcomer", "email": c["email"],
                                              "password": "newcomer-pw-1"}), 201)


# ---- 3. forgotten passwords ------------------------------------------------

def test_reset_by_mailed_link(mailing_server, sink):
    srv = mailing_server
    c = srv.new_customer(email=f"{uniq('Reset')}@Example.com")
    session = c["token"]
    r = srv.post("/v1/password-resets", json={"email": c["email"].lower()})
    assert assert_ok(r, 202)["message"] == SAME_ANSWER
    [mail] = sink.wait_for(c["email"])
    assert mail["From"] == "shop@shopkeeper.test"
    assert mail["To"] == c["email"]                      # as the shopper typed it
    base, token = link_of(srv, mail)
    assert base == "http://shop.test"

    # asking changed nothing yet
    assert login_status(srv, c["email"], c["password"]) == 201
    info = assert_ok(srv.get(f"/v1/password-links/{token}"))
    assert info["kind"] == "customer" and info["purpose"] == "reset"
    assert info["expires_at"].endswith("Z")

    # a password the sign-up rules refuse does not spend the link
    assert_problem(srv.post(f"/v1/password-links/{token}", json={"password": "short"}), 422,
                   "at least 8")
    out = assert_ok(srv.post(f"/v1/password-links/{token}",
                             json={"password": "chosen-by-link-1"}))
    assert out == {"kind": "customer", "purpose": "reset"}
    assert login_status(srv, c["email"], c["password"]) == 401
    assert srv.login(c["email"], "chosen-by-link-1")["id"] == c["id"]
    assert_problem(srv.get("/v1/me", session), 401)      # old sessions end

    # the link works once
    r = srv.post(f"/v1/password-links/{token}", json={"password": "second-time-pw-1"})
    assert_problem(r, 404, "used or has expired")
    assert_problem(srv.get(f"/v1/password-links/{token}"), 404, "used or has expired")
    assert srv.login(c["email"], "chosen-by-link-1")["id"] == c["id"]
    # the token never reached the log (checked at stop), nor does its path
    assert token not in srv.stderr()


def test_reset_answers_the_same_for_unknown_email(mailing_server, sink):
    srv = mailing_server
    c = srv.new_customer()
    known = srv.post("/v1/password-resets", json={"email": c["email"]})
    unknown = srv.post("/v1/password-resets", json={"email": f"{uniq('ghost')}@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    sink.wait_for(c["email"])
    time.sleep(0.3)
    assert len(sink.messages()) == 1                     # nothing to the unknown address
    assert_problem(srv.post("/v1/password-resets", json={"email": "nope"}), 422, "email")


def test_newer_password_spends_older_links(mailing_server, sink):
    srv = mailing_server
    c = srv.new_customer()
    assert_ok(srv.post("/v1/password-resets", json={"email": c["email"]}), 202)
    _, token = link_of(srv, sink.wait_for(c["email"])[0])
    # the shopper remembers it and changes it while signed in
    assert_ok(srv.put("/v1/sessions/current/password", c["token"],
                      json={"current_password": c["password"], "password": "remembered-1"}))
    assert_problem(srv.post(f"/v1/password-links/{token}", json={"password": "from-link-11"}),
                   404)
    assert login_status(srv, c["email"], "remembered-1") == 201


def test_staff_reset_by_mail(mailing_server, sink):
    srv = mailing_server
    brand = srv.new_brand()
    s = srv.new_staff(brand, role="manager")
    assert_ok(srv.post("/v1/password-resets", json={"email": s["email"]}), 202)
    [mail] = sink.wait_for(s["email"])
    assert "console" in mail.get_content()
    _, token = link_of(srv, mail)
    assert assert_ok(srv.get(f"/v1/password-links/{token}"))["kind"] == "staff"
    assert assert_ok(srv.post(f"/v1/password-links/{token}",
                              json={"password": "staff-reset-pw-1"}))["kind"] == "staff"
    assert_problem(srv.get("/v1/sessions/current", s["token"]), 401)
    assert srv.login(s["email"], "staff-reset-pw-1")["role"] == "manager"


def test_reset_requests_limited_per_address(mailing_server, sink):
    srv = mailing_server
    c = srv.new_customer()
    for i in range(10):
        st, _, _ = post_from(srv, "127.0.0.6", "/v1/password-resets",
                             {"email": f"someone{i}@example.com"})
        assert st == 202
    st, headers, body = post_from(srv, "127.0.0.6", "/v1/password-resets", {"email": c["email"]})
    assert st == 429 and body["detail"].startswith("Too many attempts. Try again in "), body
    assert body["detail"].endswith("minutes.") and int(headers["Retry-After"]) > 60
    # one address gets at most 3 mails an hour, without a different answer
    for _ in range(4):
        st, _, body = post_from(srv, "127.0.0.7", "/v1/password-resets", {"email": c["email"]})
        assert st == 202 and body["message"] == SAME_ANSWER
    sink.wait_for(c["email"], count=3)
    time.sleep(0.5)
    assert len(sink.wait_for(c["email"])) == 3


def test_bad_links(server):
    for token in ("sk_" + "A" * 43, "not-a-token"):
        assert_problem(server.get(f"/v1/password-links/{token}"), 404)
        assert_problem(server.post(f"/v1/password-links/{token}",
                                   json={"password": "whatever-pw-1"}), 404)
    assert_problem(server.post("/v1/password-links/sk_x", json={"password": 5}), (404, 422))


def test_without_a_relay_nothing_is_sent_and_the_cli_issues_a_link(server_factory):
    srv = server_factory(extra_args=["--public-url", "https://shop.example.org"])
    c = srv.new_customer()
    assert assert_ok(srv.post("/v1/password-resets", json={"email": c["email"]}),
                     202)["message"] == SAME_ANSWER
    assert "password_reset.no_relay" in srv.stderr()

    def admin(*args, env=None):
        e = {"SHOPKEEPER_PUBLIC_URL": "https://shop.example.org/", **(env or {})}
        full = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKEEPER_")}
        full.update(e)
        return subprocess.run([BIN, "admin", *db_args(srv.db), "password-link", *args],
                              capture_output=True, text=True, env=full, timeout=60)

    p = admin(c["email"].upper())
    assert p.returncode == 0, p.stderr
    m = re.fullmatch(r"https://shop\.example\.org/reset#token=(sk_[A-Za-z0-9_-]+)\n", p.stdout)
    assert m, p.stdout
    token = m.group(1)
    srv.secrets.add(token)
    assert "30 minutes" in p.stderr
    assert assert_ok(srv.get(f"/v1/password-links/{token}"))["purpose"] == "reset"
    assert_ok(srv.post(f"/v1/password-links/{token}", json={"password": "cli-link-pw-1"}))
    assert srv.login(c["email"], "cli-link-pw-1")["id"] == c["id"]

    p = admin("nobody@example.com")
    assert p.returncode == 1 and "no account uses nobody@example.com" in p.stderr
    p = admin(c["email"], "--purpose", "invite")
    assert p.returncode == 2 and "invitations are for staff" in p.stderr
    p = admin(c["email"], "--purpose", "welcome")
    assert p.returncode == 2 and "reset or invite" in p.stderr
    # a staff invitation link, valid for days
    brand = srv.new_brand()
    s = srv.new_staff(brand, role="counter", login=False)
    p = admin(s["email"], "--purpose", "invite")
    assert p.returncode == 0, p.stderr
    token = p.stdout.strip().split("#token=")[1]
    srv.secrets.add(token)
    info = assert_ok(srv.get(f"/v1/password-links/{token}"))
    assert info["kind"] == "staff" and info["purpose"] == "invite"
    out = assert_ok(srv.post(f"/v1/password-links/{token}", json={"password": "invited-pw-11"}))
    assert out == {"kind": "staff", "purpose": "invite"}
    assert srv.login(s["email"], "invited-pw-11")["kind"] == "staff"
