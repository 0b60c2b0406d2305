-- The write probe behind readiness (Store.Probe): one row, rewritten at most
-- once a second, so that /readyz proves a write (the write lock, a writable
-- file, a working fsync) instead of a read.
CREATE TABLE write_probe (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	at INTEGER NOT NULL -- Unix microseconds of the latest probe
) STRICT;
