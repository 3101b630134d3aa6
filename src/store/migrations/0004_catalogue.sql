-- Catalogue and purchases (issue 5).
--
-- items: a brand's catalogue, keyed by (brand, sku). Nothing about a
-- customer.
--
-- purchases: one till receipt. customer_id is set only when the customer
-- granted "history" to the brand at the moment the purchase was written (the
-- INSERT itself checks membership_purposes); otherwise, and after "history"
-- is withdrawn or the customer leaves the brand, it is NULL: an anonymous
-- basket, still useful for "bought together", never for the person. A line's
-- for_person (the person of the customer's household it was for) is kept
-- only while the purchase is linked.
--
-- purchase_keys: Idempotency-Key per brand -> the purchase it made, with a
-- hash of the request, so a retried till never counts a sale twice and a
-- different request under the same key is refused.

CREATE TABLE items (
    brand_id    TEXT NOT NULL REFERENCES brands(id),
    sku         TEXT NOT NULL,
    title       TEXT NOT NULL,
    category    TEXT NOT NULL DEFAULT '',   -- "books/fiction/thrillers"
    maker       TEXT,                       -- author, maker or brand
    tags        TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
    released    TEXT,                       -- YYYY-MM-DD
    consumable  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (brand_id, sku)
);
CREATE INDEX items_category ON items(brand_id, category);

CREATE TABLE purchases (
    id          TEXT PRIMARY KEY,
    brand_id    TEXT NOT NULL REFERENCES brands(id),
    store_id    TEXT NOT NULL REFERENCES stores(id),
    customer_id TEXT REFERENCES customers(id) ON DELETE CASCADE, -- NULL: anonymous basket
    at          TEXT NOT NULL,
    source      TEXT NOT NULL,              -- api | import
    txn         TEXT,                       -- the till's transaction id (imports)
    created_at  TEXT NOT NULL
);
CREATE INDEX purchases_customer ON purchases(customer_id, brand_id, id);
CREATE INDEX purchases_brand ON purchases(brand_id, at);

CREATE TABLE purchase_lines (
    purchase_id TEXT NOT NULL REFERENCES purchases(id) ON DELETE CASCADE,
    n           INTEGER NOT NULL,
    brand_id    TEXT NOT NULL,
    sku         TEXT NOT NULL,
    qty         INTEGER NOT NULL,
    price_cents INTEGER NOT NULL,
    for_person  TEXT,                       -- a person id, only while linked
    PRIMARY KEY (purchase_id, n),
    FOREIGN KEY (brand_id, sku) REFERENCES items(brand_id, sku)
);
CREATE INDEX purchase_lines_item ON purchase_lines(brand_id, sku);

CREATE TABLE purchase_keys (
    brand_id    TEXT NOT NULL REFERENCES brands(id),
    key         TEXT NOT NULL,
    body_hash   TEXT NOT NULL,
    purchase_id TEXT NOT NULL REFERENCES purchases(id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (brand_id, key)
);
