-- Counter displays paired by a short code (issue 10).
--
-- A display that has no key asks for a pairing: it gets an id, a secret only
-- it knows and a code it shows (8 Crockford base32 characters, 10 minutes).
-- Staff type the code in the console, which claims the pairing for a store
-- (brand_id, store_id, display_id, name set). The display's next poll, with
-- its secret, creates the display key (store_keys + tokens) in the same
-- transaction that deletes the pairing, so the key exists once, in the
-- display's answer only. Only SHA-256 hashes of the secret and the code are
-- kept; no key is ever stored here. Rows past expires_at are deleted when
-- the next pairing is asked for.
CREATE TABLE display_pairings (
    id           TEXT PRIMARY KEY,
    secret_hash  TEXT NOT NULL,
    code_hash    TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,          -- RFC 3339; compared as text (one format)
    brand_id     TEXT REFERENCES brands(id),
    store_id     TEXT REFERENCES stores(id),
    display_id   TEXT,                   -- the store_keys id the poll will create
    name         TEXT,
    claimed_at   TEXT                    -- NULL while waiting
);
CREATE INDEX display_pairings_expiry ON display_pairings(expires_at);
