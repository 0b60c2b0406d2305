-- The decision log: one row per decision, chained by hash (see
-- store.ComputeHash). STRICT so that a value of the wrong type is an error,
-- not a silent conversion.
CREATE TABLE decisions (
	seq            INTEGER PRIMARY KEY CHECK (seq > 0),
	request_id     TEXT    NOT NULL UNIQUE,
	version        TEXT    NOT NULL,
	type           TEXT    NOT NULL,
	node_key       TEXT    NOT NULL,
	received_at    INTEGER NOT NULL, -- Unix microseconds, UTC
	request        BLOB    NOT NULL, -- canonical JSON, byte for byte as hashed
	request_hash   TEXT    NOT NULL,
	tx_key         TEXT    NOT NULL,
	action         TEXT    NOT NULL CHECK (action IN ('APPROVE', 'REJECT')),
	status         INTEGER NOT NULL,
	rule           TEXT    NOT NULL,
	reason         TEXT    NOT NULL,
	shadow         BLOB,             -- JSON array, or NULL
	policy_version TEXT    NOT NULL,
	latency_micros INTEGER NOT NULL,
	prev_hash      TEXT    NOT NULL,
	hash           TEXT    NOT NULL
) STRICT;

CREATE INDEX decisions_received_at ON decisions (received_at);

-- The limit ledger: one row per (limit, approved transaction). amount is
-- exact decimal text and is summed in Go, never with SUM(), which would go
-- through floating point.
CREATE TABLE limit_ledger (
	limit_name TEXT    NOT NULL,
	key        TEXT    NOT NULL,
	tx_key     TEXT    NOT NULL,
	amount     TEXT    NOT NULL,
	at         INTEGER NOT NULL, -- the decision's received_at, Unix microseconds
	seq        INTEGER NOT NULL REFERENCES decisions (seq)
) STRICT;

-- The window sum reads only this index (amount is included), so a limit
-- check costs the entries in its window, not the size of the log.
CREATE INDEX limit_ledger_window ON limit_ledger (limit_name, key, at, amount);
-- "Is this transaction already counted?" Unique: a transaction is counted
-- once per running total, and the database refuses a second entry even if
-- the code above it had a bug.
CREATE UNIQUE INDEX limit_ledger_tx ON limit_ledger (limit_name, key, tx_key) WHERE tx_key <> '';
