#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_routes (fuzz/corpus/routes/): one small,
valid request per file in the harness's input format (fuzz/fuzz_routes.c):
byte 0 the route among the rows fuzzed (routes.c's order, without the
display stream), byte 1 the caller and path flags, then the query line, the
Idempotency-Key line, the Content-Type line and the body. Ids are the
harness's {{placeholders}}: they are random in each run.
    fuzz/make_routes_corpus.py        (rerun after routes.c changes order)
"""
import os
import re

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ROWS = [
    (m, p)
    for m, p, fn in re.findall(r'\{"([A-Z]+)", "([^"]+)", (h_\w+),',
                               open(os.path.join(ROOT, "src/http/routes.c")).read())
    if fn != "h_cards_stream"
]
WHO = ["PUBLIC", "OPERATOR", "STAFF", "CUSTOMER", "SCANNER", "DISPLAY", "POS"]
WHO_OF = {}  # filled below from routes.c's WHO_* columns
for m, p, who in re.findall(r'\{"([A-Z]+)", "([^"]+)", h_\w+,\s*([A-Z_ |]+?),',
                            open(os.path.join(ROOT, "src/http/routes.c")).read()):
    bits = set(who.replace("ADMIN_OR_OP", "WHO_OPERATOR | WHO_STAFF").replace("WHO_", "")
               .replace(" ", "").split("|"))
    WHO_OF[(m, p)] = [w for w in WHO if w in bits]

SEEDS = [
    # name, method, pattern, caller, query, idempotency key, content type, body
    ("sightings", "POST", "/v1/sightings", "SCANNER", "", "", "",
     '{"sightings":[{"eid":"0123456789abcdef","rssi":-60},'
     '{"eid":"fedcba9876543210","seen_at":"2026-01-01T10:00:00Z"}]}'),
    ("purchase", "POST", "/v1/brands/{brand}/purchases", "STAFF", "", "till-7-0001", "",
     '{"store":"{{store}}","at":"2026-01-01T10:00:00Z","customer":"{{customer}}",'
     '"lines":[{"sku":"{{sku}}","qty":2,"price":"3.40"}]}'),
    ("purchase-pos", "POST", "/v1/brands/{brand}/purchases", "POS", "", "pos-1", "",
     '{"store":"{{store}}","lines":[{"sku":"{{sku}}","qty":1,"price":"3.40"}]}'),
    ("preferences", "PUT", "/v1/me/brands/{brand}/preferences", "CUSTOMER", "", "", "",
     '{"answers":{"usual":"Oat Latte","cream":false,"cup":"Jo"},"dont":["cup"]}'),
    ("membership", "PUT", "/v1/me/brands/{brand}", "CUSTOMER", "", "", "",
     '{"purposes":["recognition","history","offers"]}'),
    ("device-shared", "POST", "/v1/me/devices", "CUSTOMER", "", "", "",
     '{"name":"Tablet","method":"shared","rotation_exponent":10}'),
    ("device-x25519", "POST", "/v1/me/devices", "CUSTOMER", "", "", "",
     '{"name":"Phone","public_key":"' + "11" * 32 + '","clock":1000,'
     '"eid":"0011223344556677","rotation_exponent":8}'),
    ("import-csv", "POST", "/v1/brands/{brand}/items/import", "STAFF", "", "", "text/csv",
     'sku,title,category,maker,tags,released,consumable\n'
     'BK-1,"The Vicarage Ledger",books/fiction,A. Author,mystery;village,2024-05-01,no\n'),
    ("staff-create", "POST", "/v1/brands/{brand}/staff", "STAFF", "", "", "",
     '{"email":"counter@fz.example","name":"Counter","grants":[{"role":"counter",'
     '"store":"{{store}}"}]}'),
    ("staff-patch", "PATCH", "/v1/brands/{brand}/staff/{staff}", "STAFF", "", "", "",
     '{"name":"Fuzz Admin Two"}'),
    ("code", "POST", "/v1/stores/{store}/codes", "DISPLAY", "", "", "", '{"code":"{{code}}"}'),
    ("member-search", "GET", "/v1/brands/{brand}/members", "STAFF", "q={{code}}&limit=5", "",
     "", ""),
    ("member-search-name", "GET", "/v1/brands/{brand}/members", "STAFF", "q=Jo", "", "", ""),
    ("staff-list", "GET", "/v1/brands/{brand}/staff", "STAFF",
     "store={{store}}&limit=2&after={{staff}}", "", "", ""),
    ("choices-version", "GET", "/v1/brands/{brand}/choices", "PUBLIC", "version=1", "", "", ""),
    ("sign", "GET", "/v1/stores/{store}/sign", "PUBLIC", "base=https%3A%2F%2Fshop.example", "",
     "", ""),
    ("item-put", "PUT", "/v1/brands/{brand}/items/{sku}", "STAFF", "", "", "",
     '{"title":"Oat Latte","category":"drinks/coffee","tags":["hot","oat"],"consumable":true}'),
    ("person", "POST", "/v1/me/people", "CUSTOMER", "", "", "",
     '{"label":"Kim","likes":{"categories":["tea"],"makers":[],"tags":[]},'
     '"dislikes":{"categories":[],"makers":[],"tags":[]},"occasions":[]}'),
    ("presence", "POST", "/v1/me/presence", "CUSTOMER", "", "", "", '{"store":"{{store}}"}'),
    ("served", "POST", "/v1/stores/{store}/cards/{visit}/served", "DISPLAY", "", "", "", ""),
    ("suggestion", "POST", "/v1/stores/{store}/cards/{visit}/suggestions/{sku}", "STAFF", "",
     "", "", '{"outcome":"accepted"}'),
    ("store-patch", "PATCH", "/v1/brands/{brand}/stores/{store}", "STAFF", "", "", "",
     '{"city":"Leeds","timezone":"Europe/London"}'),
    ("choices-put", "PUT", "/v1/brands/{brand}/choices", "STAFF", "", "", "",
     '{"choices":[{"key":"milk","label":"Milk","kind":"choice","options":["Oat","Whole"]}]}'),
    ("household-invite", "POST", "/v1/me/household/invitations", "CUSTOMER", "", "", "",
     '{"email":"sam@fz.example"}'),
    ("session", "POST", "/v1/sessions", "PUBLIC", "", "", "",
     '{"email":"jo@fz.example","password":"wrong-password"}'),
    ("my-suggestions", "GET", "/v1/me/brands/{brand}/suggestions", "CUSTOMER", "for={{person}}",
     "", "", ""),
    ("device-code", "GET", "/v1/me/devices/{device}/code", "CUSTOMER", "", "", "", ""),
]

out = os.path.join(ROOT, "fuzz/corpus/routes")
os.makedirs(out, exist_ok=True)
for name, method, pattern, who, query, idem, ctype, body in SEEDS:
    idx = ROWS.index((method, pattern))
    callers = WHO_OF[(method, pattern)]
    data = bytes([idx, callers.index(who)]) + "\n".join([query, idem, ctype, body]).encode()
    assert len(data) < 4096, name
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print(f"{len(SEEDS)} inputs in {os.path.relpath(out, ROOT)}")
