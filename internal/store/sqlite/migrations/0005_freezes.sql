-- Freezes (Store.Freeze): while any row has lifted_at NULL, Commit stores
-- every APPROVE but a PING as a REJECT (rule builtin:frozen). Each freeze
-- and its lifting is also a row of the hash chain (seq, lift_seq).
CREATE TABLE freezes (
	id         TEXT    PRIMARY KEY, -- 16 lower-case hex digits
	reason     TEXT    NOT NULL,
	frozen_by  TEXT    NOT NULL,
	frozen_at  INTEGER NOT NULL,    -- Unix microseconds, UTC
	seq        INTEGER NOT NULL REFERENCES decisions (seq),
	lifted_at  INTEGER,             -- NULL while active
	lifted_by  TEXT,
	signers    TEXT,                -- JSON array of approver names
	lift_seq   INTEGER REFERENCES decisions (seq)
) STRICT;

-- Commit's freeze check reads only active freezes, oldest first.
CREATE INDEX freezes_active ON freezes (frozen_at, id) WHERE lifted_at IS NULL;

-- Approver signatures over "unfreeze <id>" collected towards a lift's
-- threshold: one per approver and freeze, the latest standing.
CREATE TABLE freeze_lift_signatures (
	freeze_id TEXT    NOT NULL REFERENCES freezes (id),
	approver  TEXT    NOT NULL,
	signature TEXT    NOT NULL, -- armored SSHSIG, as given
	at        INTEGER NOT NULL, -- Unix microseconds
	PRIMARY KEY (freeze_id, approver)
) STRICT;
