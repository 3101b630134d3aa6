-- Suggestions (issue 5): what was shown to whom, and what came of it.
--
-- One row per suggestion shown on a counter card (visit_id set) or dismissed
-- from the portal (visit_id NULL, outcome 'dismissed'). outcome is NULL until
-- staff record accepted | declined | not_now; 'dismissed' is for good. These
-- rows feed the cooldowns and the caps; they are the customer's data (export,
-- erasure by cascade). The reason is the text that was shown.
CREATE TABLE suggestion_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    brand_id    TEXT NOT NULL REFERENCES brands(id),
    sku         TEXT NOT NULL,
    visit_id    TEXT,
    person_id   TEXT,
    reason      TEXT NOT NULL DEFAULT '',
    shown_at    TEXT NOT NULL,
    outcome     TEXT,                 -- NULL | accepted | declined | not_now | dismissed
    outcome_at  TEXT,
    UNIQUE (visit_id, sku)
);
CREATE INDEX suggestion_events_customer ON suggestion_events(customer_id, brand_id, shown_at);
