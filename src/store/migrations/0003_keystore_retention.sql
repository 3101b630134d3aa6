-- 0003: customer data keys move to the key store, and the access log keeps
-- a chain anchor per customer across retention sweeps.
--
-- The key store is a separate SQLite file (the database path + ".keys"),
-- attached to every connection as "keys". A backup of the database file
-- therefore holds sealed fields but not the keys that open them: erasing a
-- customer deletes their key from the key store, and every copy of their
-- sealed fields, backups included, can no longer be read.

-- sqlite-only begin (PostgreSQL: 0003_keystore_retention.pg.sql)
CREATE TABLE IF NOT EXISTS keys.customer_keys (
    customer_id TEXT PRIMARY KEY,
    wrapped_key BLOB NOT NULL,
    created_at  TEXT NOT NULL
);
INSERT OR REPLACE INTO keys.customer_keys (customer_id, wrapped_key, created_at)
    SELECT customer_id, wrapped_key, created_at FROM main.customer_keys;
DROP TABLE main.customer_keys;
-- sqlite-only end

-- When old access-log entries expire, the hash of the newest removed entry
-- becomes the anchor the remaining chain must start from.
CREATE TABLE access_log_anchors (
    customer_id TEXT PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    hash        TEXT NOT NULL
);

CREATE INDEX access_log_at ON access_log(at);
CREATE INDEX visits_closed ON visits(closed_at);
