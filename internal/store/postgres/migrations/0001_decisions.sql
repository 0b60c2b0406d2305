-- The decision log: one row per decision, chained by hash (see
-- store.ComputeHash). request and shadow are bytea so that the bytes that
-- were hashed are the bytes that are kept (jsonb would reorder keys).
CREATE TABLE decisions (
	seq            BIGINT      PRIMARY KEY CHECK (seq > 0),
	request_id     TEXT        NOT NULL UNIQUE,
	version        TEXT        NOT NULL,
	type           TEXT        NOT NULL,
	node_key       TEXT        NOT NULL,
	received_at    TIMESTAMPTZ NOT NULL,
	request        BYTEA       NOT NULL,
	request_hash   TEXT        NOT NULL,
	tx_key         TEXT        NOT NULL,
	action         TEXT        NOT NULL CHECK (action IN ('APPROVE', 'REJECT')),
	status         INTEGER     NOT NULL,
	rule           TEXT        NOT NULL,
	reason         TEXT        NOT NULL,
	shadow         BYTEA,
	policy_version TEXT        NOT NULL,
	latency_micros BIGINT      NOT NULL,
	prev_hash      TEXT        NOT NULL,
	hash           TEXT        NOT NULL
);

CREATE INDEX decisions_received_at ON decisions (received_at);

-- The limit ledger: one row per (limit, approved transaction). NUMERIC is
-- exact, and so is SUM over it.
CREATE TABLE limit_ledger (
	limit_name TEXT        NOT NULL,
	key        TEXT        NOT NULL,
	tx_key     TEXT        NOT NULL,
	amount     NUMERIC     NOT NULL CHECK (amount >= 0),
	at         TIMESTAMPTZ NOT NULL, -- the decision's received_at
	seq        BIGINT      NOT NULL REFERENCES decisions (seq)
);

-- The window sum is an index-only scan of the entries in the window, so a
-- limit check costs the window, not the size of the log.
CREATE INDEX limit_ledger_window ON limit_ledger (limit_name, key, at) INCLUDE (amount);
-- "Is this transaction already counted?" Unique: a transaction is counted
-- once per running total, and the database refuses a second entry even if
-- the code above it had a bug.
CREATE UNIQUE INDEX limit_ledger_tx ON limit_ledger (limit_name, key, tx_key) WHERE tx_key <> '';
