"""The command line: help, demo, admin, configuration and refusing a
database from a newer version."""
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest
import requests

from conftest import BIN, PG, assert_ok, assert_problem, connect, db_args, free_port, sanitizer_report, uniq

SERVE_HELP_MUST_MENTION = ["--listen", "--db", "SHOPKEEPER_LISTEN", "SHOPKEEPER_DB",
                           "--master-key", "--log-level", "SHOPKEEPER_BOOTSTRAP_TOKEN",
                           "--max-body"]


def test_help(cli):
    p = cli("--help")
    assert p.returncode == 0, p.stderr
    for cmd in ("serve", "admin", "demo", "routes"):
        assert re.search(rf"^\s+{cmd}\s", p.stdout, re.M), p.stdout
    p = cli("serve", "--help", db=False)
    assert p.returncode == 0, p.stderr
    for word in SERVE_HELP_MUST_MENTION:
        assert word in p.stdout, f"serve --help does not mention {word}"
    for cmd in ("admin", "demo", "routes"):
        p = cli(cmd, "--help", db=False)
        assert p.returncode == 0 and "usage: shopkeeper " + cmd in p.stdout, (cmd, p.stdout)
    p = cli("admin", "--help", db=False)
    for action in ("brand create", "staff create", "store create", "operator create"):
        assert action in p.stdout
    p = cli("version")
    assert p.returncode == 0 and p.stdout.startswith("shopkeeper ")


def test_usage_errors(cli):
    p = cli()
    assert p.returncode == 2 and "usage" in p.stderr
    p = cli("frobnicate")
    assert p.returncode == 2 and "unknown command" in p.stderr
    p = cli("admin", "brand", "explode")
    assert p.returncode == 2 and "unknown action" in p.stderr
    p = cli("admin", "brand", "create", "only-slug")
    assert p.returncode == 2 and "usage" in p.stderr
    for args in (["--log-level", "loud"], ["--max-body", "5"], ["--threads", "0"],
                 ["--session-ttl", "x"], ["extra-arg"], ["--no-such-flag"]):
        p = cli("serve", *args)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert p.stderr.strip(), args


def count(db, table):
    con = connect(db)
    try:
        return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def test_demo_fills_an_empty_database_once(cli):
    p = cli("demo")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "operator token:" in out and re.search(r"sk_[A-Za-z0-9_-]{40,}", out)
    assert "shopkeeper-demo" in out and "jeff@example.com" in out
    assert "pike-pine.example" in out
    counts = {t: count(cli.db, t) for t in ("brands", "customers", "staff", "stores",
                                            "memberships", "consent_events", "preferences")}
    assert counts["brands"] == 3 and counts["customers"] == 12
    assert counts["staff"] == 9 and counts["stores"] >= 6
    assert counts["memberships"] >= 12 and counts["preferences"] >= 10
    # the master key was generated beside the database, with a warning
    # (SQLite; PostgreSQL is given one)
    assert (cli.db.parent / "master.key").exists()
    assert PG or "master_key.generated" in p.stderr

    again = cli("demo")
    assert again.returncode == 0, again.stderr
    assert "already has brands" in again.stdout and "operator token" not in again.stdout
    assert {t: count(cli.db, t) for t in counts} == counts


def test_demo_token_file(cli, tmp_path):
    tf = tmp_path / "op.token"
    p = cli("demo", "--token-file", str(tf))
    assert p.returncode == 0, p.stderr
    token = tf.read_text().strip()
    assert token.startswith("sk_") and token in p.stdout
    assert oct(tf.stat().st_mode & 0o777) == "0o600"


def test_admin_creates_brand_staff_store_and_staff_log_in(cli, server_factory):
    slug = uniq("cli-")
    p = cli("admin", "brand", "create", slug, "Command Line Coffee")
    assert p.returncode == 0, p.stderr
    brand = json.loads(p.stdout)
    assert brand["slug"] == slug and brand["name"] == "Command Line Coffee"

    email = f"{uniq('boss')}@example.com"
    password = "cli-password-123"
    p = cli("admin", "staff", "create", slug, email, "Boss Person", "admin",
            env={"SHOPKEEPER_PASSWORD": password})
    assert p.returncode == 0, p.stderr
    staff = json.loads(p.stdout)
    assert staff["email"] == email and staff["role"] == "admin"
    assert staff["brand_id"] == brand["id"] and password not in p.stdout

    p = cli("admin", "store", "create", slug, "Main Street", "Europe/Paris", "Paris")
    assert p.returncode == 0, p.stderr
    store = json.loads(p.stdout)
    assert store["brand_id"] == brand["id"] and store["city"] == "Paris"

    # counter staff work at the stores named; none named is refused
    email2 = f"{uniq('ctr')}@example.com"
    p = cli("admin", "staff", "create", brand["id"], email2, "Counter Person", "counter")
    assert p.returncode == 1 and "stores" in p.stderr, (p.stdout, p.stderr)
    # without SHOPKEEPER_PASSWORD a password is generated and shown once
    p = cli("admin", "staff", "create", brand["id"], email2, "Counter Person",
            f"counter:{store['id']}")
    assert p.returncode == 0, p.stderr
    m = re.search(r"password \(shown once\): (\S+)", p.stdout)
    assert m
    generated = m.group(1)
    counter = json.loads(p.stdout[:p.stdout.rindex("}") + 1])
    assert counter["grants"] == [{"role": "counter", "store": store["id"]}]

    p = cli("admin", "operator", "create", "Night Operator")
    assert p.returncode == 0, p.stderr
    op_token = re.search(r"^(sk_\S+)$", p.stdout, re.M).group(1)

    p = cli("admin", "brand", "list")
    assert p.returncode == 0 and slug in p.stdout and brand["id"] in p.stdout

    srv = server_factory(db=cli.db)
    srv.secrets |= {password, generated, op_token}
    s = srv.login(email, password)
    assert s["kind"] == "staff" and s["brand_id"] == brand["id"] and s["role"] == "admin"
    assert_ok(srv.put(f"/v1/brands/{slug}/notice", s["token"], json={"text": "Hello."}))
    s2 = srv.login(email2, generated)
    assert s2["role"] == "counter"
    assert assert_ok(srv.get(f"/v1/stores/{store['id']}/cards", s2["token"]))["items"] == []
    assert_problem(srv.put(f"/v1/brands/{slug}/notice", s2["token"], json={"text": "x"}), 403)
    who = assert_ok(srv.get("/v1/sessions/current", op_token))
    assert who["kind"] == "operator"
    stores = assert_ok(srv.get(f"/v1/brands/{slug}/stores"))["items"]
    assert [x["id"] for x in stores] == [store["id"]]


def test_admin_refuses_bad_input(cli):
    slug = uniq("ok-")
    assert cli("admin", "brand", "create", slug, "Fine").returncode == 0
    for args, needle in [
        (["brand", "create", "Bad Slug", "Name"], "SLUG"),
        (["brand", "create", slug, "Again"], "taken"),
        (["staff", "create", "no-such-brand-zz", "a@example.com", "N", "admin"], "no brand"),
        (["staff", "create", slug, "not-an-email", "N", "admin"], "email"),
        (["staff", "create", slug, "a@example.com", "N", "emperor"], "ROLE"),
        (["store", "create", "no-such-brand-zz", "S", "UTC", "City"], "no brand"),
    ]:
        p = cli("admin", *args, env={"SHOPKEEPER_PASSWORD": "long-enough-1"})
        assert p.returncode == 1, (args, p.returncode, p.stdout, p.stderr)
        assert needle in p.stderr, (args, p.stderr)
    p = cli("admin", "staff", "create", slug, "b@example.com", "N", "admin",
            env={"SHOPKEEPER_PASSWORD": "short"})
    assert p.returncode == 1 and "SHOPKEEPER_PASSWORD" in p.stderr
    assert count(cli.db, "staff") == 0


def _run_serve(args, env, timeout=30):
    """Runs serve expecting it to exit by itself; kills it (and fails) if it
    is still running after timeout."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKEEPER_")}
    e.update(env)
    p = subprocess.Popen([BIN, "serve", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=e)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        pytest.fail(f"serve {args} kept running; stderr:\n{err}")
    assert not sanitizer_report(err), err
    return p.returncode, err


def test_serve_refuses_a_database_from_a_newer_version(cli):
    assert cli("admin", "brand", "create", uniq("v-"), "Versioned").returncode == 0
    con = connect(cli.db, readonly=False)
    with con:
        known = con.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
        assert known >= 1
        con.execute("INSERT INTO schema_migrations (version, name, applied_at) "
                    "VALUES (?, 'from-the-future', '2099-01-01T00:00:00Z')", (known + 41,))
    con.close()
    rc, err = _run_serve([*db_args(cli.db), "--listen", f"127.0.0.1:{free_port()}"],
                         {"SHOPKEEPER_BOOTSTRAP_TOKEN": "sk_boot_" + "x" * 30})
    assert rc != 0
    assert "newer" in err and str(known + 41) in err, err
    # every command refuses it, and the database was not touched
    p = cli("demo")
    assert p.returncode != 0 and "newer" in p.stderr
    assert count(cli.db, "brands") == 1


def test_serve_startup_errors(cli, tmp_path):
    db = str(tmp_path / "s" / "x.db")
    rc, err = _run_serve(["--db", db, "--listen", "not-an-address"], {})
    assert rc != 0 and "listen" in err
    rc, err = _run_serve(["--db", db, "--listen", f"127.0.0.1:{free_port()}"],
                         {"SHOPKEEPER_BOOTSTRAP_TOKEN": "too-short"})
    assert rc != 0 and "SHOPKEEPER_BOOTSTRAP_TOKEN" in err
    rc, err = _run_serve(["--db", db, "--master-key", str(tmp_path / "missing.key"),
                          "--listen", f"127.0.0.1:{free_port()}"], {})
    assert rc != 0 and "master key" in err
    bad_key = tmp_path / "bad.key"
    bad_key.write_text("not hex\n")
    rc, err = _run_serve(["--db", db, "--master-key", str(bad_key),
                          "--listen", f"127.0.0.1:{free_port()}"], {})
    assert rc != 0 and "master key" in err
    # the port is taken
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        rc, err = _run_serve(["--db", db, "--listen", f"127.0.0.1:{s.getsockname()[1]}"], {})
    assert rc != 0 and "cannot listen" in err


def test_serve_configured_by_environment(tmp_path):
    """SHOPKEEPER_LISTEN, SHOPKEEPER_DB, SHOPKEEPER_MASTER_KEY,
    SHOPKEEPER_LOG_LEVEL and SHOPKEEPER_BOOTSTRAP_TOKEN, no flags."""
    port = free_port()
    db = tmp_path / "envdb" / "shop.db"
    key = tmp_path / "given.key"
    key.write_text("ab" * 32 + "\n")
    token = "sk_env_bootstrap_" + "q" * 24
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPKEEPER_")}
    env.update({"SHOPKEEPER_LISTEN": f"127.0.0.1:{port}", "SHOPKEEPER_DB": str(db),
                "SHOPKEEPER_MASTER_KEY": str(key), "SHOPKEEPER_LOG_LEVEL": "warn",
                "SHOPKEEPER_BOOTSTRAP_TOKEN": token})
    errf = open(tmp_path / "env.stderr", "w+")
    p = subprocess.Popen([BIN, "serve"], stdout=subprocess.DEVNULL, stderr=errf, env=env,
                         cwd=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert p.poll() is None, "serve exited"
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.05)
        r = requests.get(f"http://127.0.0.1:{port}/v1/sessions/current",
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 200 and r.json()["kind"] == "operator"
        assert db.exists()
        assert not (db.parent / "master.key").exists()  # the given key was used
    finally:
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=30)
    errf.seek(0)
    err = errf.read()
    errf.close()
    assert rc == 0, err
    assert not sanitizer_report(err), err
    # log level warn: no info lines
    assert "level=info" not in err and token not in err
