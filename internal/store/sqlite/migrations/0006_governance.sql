-- The governance in force (Store.Governance, Store.AdoptGovernance): the
-- governance file adopted on first use, then only changes signed by a
-- quorum of the governance in force. One row; seq is the decision-log row
-- that records its adoption.
CREATE TABLE governance (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	sha256     TEXT    NOT NULL,
	content    BLOB    NOT NULL,
	adopted_at INTEGER NOT NULL, -- Unix microseconds
	seq        INTEGER NOT NULL
) STRICT;
