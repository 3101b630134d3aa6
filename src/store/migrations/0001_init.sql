-- 0001: accounts, brands, stores, choices, consent, preferences, access log.
-- Portable SQL (SQLite and PostgreSQL): TEXT ids, RFC 3339 TEXT times,
-- BLOB for sealed fields (bytea on PostgreSQL). Every brand-owned table
-- carries brand_id so it can be distributed by brand.

CREATE TABLE operators (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE brands (
    id              TEXT PRIMARY KEY,
    slug            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    choices_version INTEGER NOT NULL DEFAULT 0,
    notice_version  INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);

-- Every version of a brand's choices is kept, so earlier answers stay readable.
CREATE TABLE brand_choices (
    brand_id    TEXT NOT NULL REFERENCES brands(id),
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL,           -- JSON array of normalized choices
    created_at  TEXT NOT NULL,
    PRIMARY KEY (brand_id, version)
);

CREATE TABLE brand_notices (
    brand_id    TEXT NOT NULL REFERENCES brands(id),
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL,           -- JSON {text, faq: [{q, a}]}
    created_at  TEXT NOT NULL,
    PRIMARY KEY (brand_id, version)
);

CREATE TABLE staff (
    id            TEXT PRIMARY KEY,
    brand_id      TEXT NOT NULL REFERENCES brands(id),
    email         TEXT NOT NULL UNIQUE,  -- lower-cased
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX staff_brand ON staff(brand_id, id);

CREATE TABLE stores (
    id          TEXT PRIMARY KEY,
    brand_id    TEXT NOT NULL REFERENCES brands(id),
    name        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    city        TEXT NOT NULL DEFAULT '',
    address     TEXT NOT NULL DEFAULT '',
    beacon_id   TEXT NOT NULL UNIQUE,    -- what the store's own beacon broadcasts
    created_at  TEXT NOT NULL
);
CREATE INDEX stores_brand ON stores(brand_id, id);

-- Customer fields a person typed about themselves are sealed with the
-- customer's data key (AES-256-GCM); email_hash is a keyed hash for login.
CREATE TABLE customers (
    id            TEXT PRIMARY KEY,
    email_hash    TEXT NOT NULL UNIQUE,
    email_enc     BLOB NOT NULL,
    name_enc      BLOB NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

-- The customer's data key, wrapped by the master key. Deleting this row is
-- what makes erasure real: every sealed field becomes unreadable.
CREATE TABLE customer_keys (
    customer_id TEXT PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    wrapped_key BLOB NOT NULL,
    created_at  TEXT NOT NULL
);

-- Bearer tokens, stored only as SHA-256 hashes.
CREATE TABLE tokens (
    hash        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,           -- operator | staff | customer | scanner | display
    subject_id  TEXT NOT NULL,           -- operator, staff, customer or store key id
    brand_id    TEXT,
    store_id    TEXT,
    created_at  TEXT NOT NULL,
    expires_at  TEXT                     -- NULL: until revoked
);
CREATE INDEX tokens_subject ON tokens(subject_id);

CREATE TABLE memberships (
    brand_id    TEXT NOT NULL REFERENCES brands(id),
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    joined_at   TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (brand_id, customer_id)
);
CREATE INDEX memberships_customer ON memberships(customer_id, brand_id);

-- The current grants, derived from consent_events in the same transaction
-- that appends them. Consent is enforced by joining on this table.
CREATE TABLE membership_purposes (
    brand_id    TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    granted_at  TEXT NOT NULL,
    PRIMARY KEY (brand_id, customer_id, purpose),
    FOREIGN KEY (brand_id, customer_id) REFERENCES memberships(brand_id, customer_id)
        ON DELETE CASCADE
);

-- The ledger: append-only; rows are never updated.
CREATE TABLE consent_events (
    id             TEXT PRIMARY KEY,
    brand_id       TEXT NOT NULL REFERENCES brands(id),
    customer_id    TEXT NOT NULL,
    purpose        TEXT NOT NULL,
    action         TEXT NOT NULL,        -- grant | withdraw
    notice_version INTEGER NOT NULL,
    via            TEXT NOT NULL,        -- api | portal | cli | demo
    at             TEXT NOT NULL,
    receipt        TEXT NOT NULL         -- HMAC over the entry, for the customer to keep
);
CREATE INDEX consent_events_customer ON consent_events(customer_id, id);

CREATE TABLE preferences (
    brand_id        TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    choices_version INTEGER NOT NULL,
    answers_enc     BLOB NOT NULL,       -- sealed JSON object
    dont_enc        BLOB NOT NULL,       -- sealed JSON array
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (brand_id, customer_id),
    FOREIGN KEY (brand_id, customer_id) REFERENCES memberships(brand_id, customer_id)
        ON DELETE CASCADE
);

-- Every look by a brand actor at a customer's data. Each entry chains to the
-- previous entry of the same customer (hash = SHA-256(prev_hash | entry)).
CREATE TABLE access_log (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    brand_id    TEXT NOT NULL,
    store_id    TEXT,
    actor_kind  TEXT NOT NULL,           -- staff | display | partner | export
    actor_role  TEXT NOT NULL,
    fields      TEXT NOT NULL,           -- space-separated field names
    purpose     TEXT NOT NULL,
    at          TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX access_log_customer ON access_log(customer_id, id);
