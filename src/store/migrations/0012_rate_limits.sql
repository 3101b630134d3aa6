-- 0012: rate limits that hold across the serve nodes of one database
-- (issue 12, "Many nodes"). One row per limited subject: a fixed window
-- (window_start .. window_end, microseconds since the epoch) and the hits
-- counted in it. key is the hex HMAC-SHA256 of "limit|subject" (an address,
-- an email, an account id) under a key derived from the master key, which
-- every node of a deployment holds: no address or email is stored in
-- clear. A hit is one INSERT ... ON CONFLICT DO UPDATE (store_limits.c), so
-- nodes counting at once never lose one. Rows whose window is over are
-- removed by the housekeeping sweep.
CREATE TABLE rate_limits (
    key          TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    window_end   INTEGER NOT NULL,
    hits         INTEGER NOT NULL
);
CREATE INDEX rate_limits_end ON rate_limits(window_end);
