-- 0002: devices, store keys, visits, and the service's own keys.

-- A shopper's device. ik_enc is the Eddystone identity key sealed with the
-- customer's data key: erasing the customer's key makes it unreadable.
CREATE TABLE devices (
    id                TEXT PRIMARY KEY,
    customer_id       TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    method            TEXT NOT NULL,       -- x25519 | shared (key made by the service)
    ik_enc            BLOB NOT NULL,
    rotation_exponent INTEGER NOT NULL,
    clock_offset      INTEGER NOT NULL,    -- device clock minus server clock, seconds, mod 2^32
    created_at        TEXT NOT NULL
);
CREATE INDEX devices_customer ON devices(customer_id, id);

-- Scanner and display keys of a store; their bearer tokens live in tokens.
CREATE TABLE store_keys (
    id          TEXT PRIMARY KEY,
    brand_id    TEXT NOT NULL REFERENCES brands(id),
    store_id    TEXT NOT NULL REFERENCES stores(id),
    kind        TEXT NOT NULL,             -- scanner | display
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX store_keys_store ON store_keys(store_id, id);

-- A visit: a member present at a store, opened by a presence under a
-- current recognition grant and closed after the quiet time.
CREATE TABLE visits (
    id           TEXT PRIMARY KEY,
    brand_id     TEXT NOT NULL REFERENCES brands(id),
    store_id     TEXT NOT NULL REFERENCES stores(id),
    customer_id  TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    channel      TEXT NOT NULL,            -- device | app | code
    opened_at    TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    served_at    TEXT,
    closed_at    TEXT,
    close_reason TEXT                      -- quiet | withdrawn | erased
);
CREATE INDEX visits_customer ON visits(customer_id, id);
CREATE INDEX visits_store ON visits(store_id, closed_at);

-- Keys of the service itself (the X25519 key pair of the EID resolver),
-- sealed with a key derived from the master key.
CREATE TABLE service_keys (
    name        TEXT PRIMARY KEY,
    value_enc   BLOB NOT NULL,
    created_at  TEXT NOT NULL
);
