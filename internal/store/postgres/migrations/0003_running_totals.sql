-- Running totals: every ledger row also carries the sum of the amounts
-- (NUMERIC, exact at any size) and the number of rows of its (limit, key)
-- up to and including itself, in (at, seq) order. A window's usage is then
-- the total at the key's newest row minus the total at its last row at or
-- before the window's start: two index lookups, however many entries the
-- window holds. New rows keep a key's times non-decreasing
-- (check.LedgerTime), so that order is also the order rows are written in
-- (the commit lock serializes the writers).
ALTER TABLE limit_ledger ADD COLUMN cum_amount NUMERIC, ADD COLUMN cum_count BIGINT;

-- Backfill the existing rows in (limit, key, at, seq) order, keeping their
-- times, so that every window's usage is exactly what the old scan summed.
UPDATE limit_ledger AS l SET cum_amount = t.cum_amount, cum_count = t.cum_count
FROM (
	SELECT ctid,
		SUM(amount) OVER w AS cum_amount,
		COUNT(*) OVER w AS cum_count
	FROM limit_ledger
	WINDOW w AS (PARTITION BY limit_name, key ORDER BY at, seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
) AS t
WHERE l.ctid = t.ctid;

ALTER TABLE limit_ledger
	ALTER COLUMN cum_amount SET NOT NULL,
	ALTER COLUMN cum_count SET NOT NULL,
	ADD CONSTRAINT limit_ledger_cum CHECK (cum_amount >= amount AND cum_count > 0);

-- Both lookups of the limit check (the key's newest row, and its last row at
-- or before the window's start) are index-only scans of this index,
-- backwards; amount is included for LimitUsage.
DROP INDEX limit_ledger_window;
CREATE INDEX limit_ledger_window ON limit_ledger (limit_name, key, at, seq) INCLUDE (amount, cum_amount, cum_count);
