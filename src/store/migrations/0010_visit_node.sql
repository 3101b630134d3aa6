-- 0010: which node of a cluster holds an open visit (serve --nats --node),
-- NULL for a node running alone. A node that starts closes the visits it
-- left open itself (after a crash its cards are on no screen), not those
-- another node holds now.
ALTER TABLE visits ADD COLUMN node TEXT;
