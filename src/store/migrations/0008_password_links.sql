-- 0008: one-time password links (a forgotten password's reset, a staff
-- member's invitation). Only the SHA-256 of the link's token is stored, as
-- for bearer tokens. A link belongs to a customer or to a staff member (one
-- of the two columns), so a customer's erasure removes their links with
-- every other row that has a customer_id.
CREATE TABLE password_links (
    token_hash  TEXT PRIMARY KEY,
    customer_id TEXT REFERENCES customers(id) ON DELETE CASCADE,
    staff_id    TEXT REFERENCES staff(id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,           -- reset | invite
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,                    -- set once; a used link never works again
    CHECK ((customer_id IS NULL) <> (staff_id IS NULL))
);
CREATE INDEX password_links_customer ON password_links(customer_id);
CREATE INDEX password_links_staff ON password_links(staff_id);
