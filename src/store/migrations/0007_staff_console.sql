-- 0007: staff roles scoped to stores, disabled staff, devices' last-seen
-- time and revocation, closed stores.

-- What a staff member may do, and where: a role for the whole brand
-- (store_id '') or for one store. One grant decides a request alone.
CREATE TABLE staff_grants (
    staff_id    TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    brand_id    TEXT NOT NULL REFERENCES brands(id),
    role        TEXT NOT NULL,           -- admin | manager | counter | agent | team_manager | comms
    store_id    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (staff_id, role, store_id)
);
CREATE INDEX staff_grants_store ON staff_grants(brand_id, store_id);

-- Managers and counter staff were brand-wide before: they keep every store
-- their brand had; the other roles stay brand-wide.
INSERT INTO staff_grants (staff_id, brand_id, role, store_id)
    SELECT s.id, s.brand_id, s.role, st.id FROM staff s JOIN stores st ON st.brand_id = s.brand_id
    WHERE s.role IN ('manager', 'counter');
INSERT INTO staff_grants (staff_id, brand_id, role, store_id)
    SELECT id, brand_id, role, '' FROM staff WHERE role NOT IN ('manager', 'counter');
ALTER TABLE staff DROP COLUMN role;

-- A disabled staff member cannot sign in; their sessions are gone.
ALTER TABLE staff ADD COLUMN disabled_at TEXT;

-- When a store key was last used (written at most once a minute).
ALTER TABLE store_keys ADD COLUMN last_seen_at TEXT;

-- A closed store keeps its history; its keys are revoked.
ALTER TABLE stores ADD COLUMN closed_at TEXT;
