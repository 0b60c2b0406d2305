-- The write probe behind readiness (Store.Probe): one row, rewritten under
-- the commit lock at most once a second per replica, so that /readyz proves
-- a write (the commit lock, a writable database) instead of a read.
CREATE TABLE write_probe (
	id INTEGER     PRIMARY KEY CHECK (id = 1),
	at TIMESTAMPTZ NOT NULL -- when the latest probe ran
);
