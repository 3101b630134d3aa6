"""`shopkeeper train --brand B` asks the running service to retrain a brand's
suggestion model; the answer says what it learned from."""
import json


def test_train_retrains_the_running_service(server, cli):
    brand = server.new_brand()
    admin = server.new_staff(brand, role="admin")
    token_file = cli.workdir / "token"
    token_file.write_text(server.op_token + "\n")
    # nothing to learn from yet: a clear answer, not a model of nothing
    p = cli("train", "--brand", brand["slug"], "--url", server.base, "--token-file", str(token_file))
    assert p.returncode == 1 and "nothing to learn from yet" in p.stderr

    store = server.new_store(brand, token=admin["token"])
    for sku in ("a1", "a2", "a3"):
        r = server.put(f"/v1/brands/{brand['id']}/items/{sku}", admin["token"],
                       json={"title": f"Book {sku}", "category": "fiction/thrillers"})
        assert r.status_code in (200, 201), r.text
    for i, skus in enumerate((["a1", "a2"], ["a2", "a3"], ["a1", "a3"])):
        r = server.post(f"/v1/brands/{brand['id']}/purchases", admin["token"],
                        headers={"Idempotency-Key": f"k{i}"},
                        json={"store": store["id"],
                              "lines": [{"sku": s, "qty": 1, "price": 9.5} for s in skus]})
        assert r.status_code == 201, r.text
    p = cli("train", "--brand", brand["slug"], "--url", server.base, "--token-file", str(token_file))
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["brand"] == brand["id"]
    assert out["baskets"] == 3 and out["items"] == 3

    # a staff token works too (admin or manager), through the environment
    p = cli("train", "--brand", brand["slug"], "--url", server.base,
            env={"SHOPKEEPER_TOKEN": admin["token"]})
    assert p.returncode == 0, p.stderr


def test_train_says_what_went_wrong(server, cli):
    token_file = cli.workdir / "token"
    token_file.write_text(server.op_token + "\n")
    p = cli("train", "--brand", "no-such-brand", "--url", server.base, "--token-file", str(token_file))
    assert p.returncode == 1
    assert "no such brand" in p.stderr
    p = cli("train", "--brand", "x", "--url", server.base)
    assert p.returncode == 2 and "token" in p.stderr
    p = cli("train")
    assert p.returncode == 2 and "--brand" in p.stderr
