-- 0011: one open visit per customer and store, whichever node heard them.
-- Nodes that share a database open a visit with INSERT ... ON CONFLICT on
-- this index; the second node to hear the shopper joins the visit the first
-- opened. Visits still open from before are closed first (a node that starts
-- alone closes them anyway; duplicates from two nodes would stop the index).
UPDATE visits SET closed_at = last_seen_at, close_reason = 'restart' WHERE closed_at IS NULL;
CREATE UNIQUE INDEX visits_open_one ON visits(customer_id, store_id) WHERE closed_at IS NULL;
-- the sweep that closes a stopped node's quiet visits reads these
CREATE INDEX visits_open_seen ON visits(last_seen_at) WHERE closed_at IS NULL;
