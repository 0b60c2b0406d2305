-- The outpoint-claim memory behind the segwit fee-attack defence
-- (Store.ClaimOutpoints): the amount the first verified UTXO KEYSIGN
-- claimed for each outpoint, shared by every replica. A later KEYSIGN
-- claiming another amount for it is refused until an operator clears the
-- row.
CREATE TABLE outpoint_claims (
	outpoint   TEXT        PRIMARY KEY, -- "txid:vout", txid lower-case hex in display order
	amount     NUMERIC     NOT NULL,    -- exact decimal, coins
	request_id TEXT        NOT NULL,    -- the KEYSIGN that claimed it first
	at         TIMESTAMPTZ NOT NULL     -- when that request was received
);
