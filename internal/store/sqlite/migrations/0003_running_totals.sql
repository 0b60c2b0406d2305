-- Running totals: every ledger row also carries the sum of the amounts
-- (exact decimal text, read back by check.ParseTotal, which has no 100-digit
-- bound) and the number of rows of its (limit, key) up to and including
-- itself, in (at, seq) order. A window's usage is then the total at the
-- key's newest row minus the total at its last row at or before the
-- window's start: two index lookups, however many entries the window holds.
-- New rows keep a key's times non-decreasing (check.LedgerTime), so that
-- order is also the order rows are written in.
--
-- The defaults exist only for ALTER TABLE: right after this script, in the
-- same transaction, Open fills every existing row (backfillTotals in
-- sqlite.go, in Go, because SQLite has no exact decimal sum) and refuses to
-- finish the migration if any row is left without a total.
ALTER TABLE limit_ledger ADD COLUMN cum_amount TEXT NOT NULL DEFAULT '';
ALTER TABLE limit_ledger ADD COLUMN cum_count INTEGER NOT NULL DEFAULT 0;
DROP INDEX limit_ledger_window;

-- Both lookups of the limit check (the key's newest row, and its last row at
-- or before the window's start) search this index backwards and read only
-- it; amount is included for LimitUsage.
CREATE INDEX limit_ledger_window ON limit_ledger (limit_name, key, at, seq, cum_amount, cum_count, amount);
