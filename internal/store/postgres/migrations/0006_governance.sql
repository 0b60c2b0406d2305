-- The governance in force (Store.Governance, Store.AdoptGovernance): the
-- governance file adopted on first use, then only changes signed by a
-- quorum of the governance in force, shared by every replica. One row;
-- seq is the decision-log row that records its adoption.
CREATE TABLE governance (
	id         SMALLINT    PRIMARY KEY CHECK (id = 1),
	sha256     TEXT        NOT NULL,
	content    BYTEA       NOT NULL,
	adopted_at TIMESTAMPTZ NOT NULL,
	seq        BIGINT      NOT NULL
);
