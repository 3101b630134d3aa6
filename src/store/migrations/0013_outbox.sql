-- 0013: the outbox of changes every node of a cluster must apply (issue 12,
-- "Many nodes"). NATS delivers at most once; a node that was away from it
-- reads here what it missed (src/service/outbox.c). A row is written by a
-- trigger in the same transaction as the change itself, so no change can
-- commit without its row, and no store function has to remember it.
--
--   what         customer_id                            brand_id
--   devices      whose devices were added or removed    NULL
--   changed      whose grants, answers or name changed  the brand, or NULL
--   erased       SHA-256 (hex) of the erased id: the    NULL
--                id itself is gone with the account
--
-- tx is the writing transaction's id (PostgreSQL's pg_current_xact_id): a
-- reader takes the rows of the transactions that have all ended (below its
-- snapshot's xmin), so a row whose transaction commits late is never
-- skipped (outbox.c, invariant 1).
--
-- Only PostgreSQL fills it (0013_outbox.pg.sql): several nodes share a
-- database only there. A SQLite store is one process, whose own changes
-- apply in memory as they are made; the table is there with the same
-- schema so that both engines have one schema (and migrate-data copies it).
-- Rows are removed after an hour by the housekeeping sweep, and a
-- customer's with their account.
CREATE TABLE changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tx          INTEGER NOT NULL DEFAULT 0,
    at          TEXT NOT NULL,
    what        TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    brand_id    TEXT
);
CREATE INDEX changes_tx ON changes(tx);
CREATE INDEX changes_at ON changes(at);
CREATE INDEX changes_customer ON changes(customer_id);
