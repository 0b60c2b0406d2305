package storetest

import (
	"fmt"
	"testing"
	"time"

	"tssgate/internal/decimal"
	"tssgate/internal/store"
	"tssgate/internal/store/internal/chain"
)

// OldEntry is one ledger row written with the schema before running totals
// (migration 0002), for the migration tests: the implementation's test
// writes the decision row Seq and this entry with raw SQL, then opens the
// store, which migrates.
type OldEntry struct {
	Seq                int64
	Limit, Key, Amount string
	At                 time.Time
}

// OldLedger returns the rows the migration tests write: two limits, two
// keys, fractional amounts, and times that do not follow seq order (an old
// ledger never kept them monotonic), so the backfill's order matters.
func OldLedger() []OldEntry {
	amounts := []string{"0.1", "12.345", "100", "0.000000000000000001", "7"}
	base := chain.NormalizeTime(Base)
	var out []OldEntry
	for i := int64(1); i <= 60; i++ {
		out = append(out, OldEntry{
			Seq:    i,
			Limit:  []string{"L1", "L2"}[i%2],
			Key:    []string{"a", "b", "a"}[i%3],
			Amount: amounts[i%int64(len(amounts))],
			At:     base.Add(time.Duration((i*7919)%97) * time.Minute),
		})
	}
	return out
}

// CheckMigrated checks a store migrated from old: at several instants and
// windows, the usage Commit's limit check sees (read back from the exact
// REJECT reason of a decision asking for just over it) and LimitUsage
// equal the sums of old's entries after the window's start, computed here
// by a plain scan.
func CheckMigrated(t *testing.T, s store.Store, old []OldEntry) {
	t.Helper()
	base := chain.NormalizeTime(Base)
	probe := 0
	for _, now := range []time.Time{base.Add(30 * time.Minute), base.Add(time.Hour), base.Add(97 * time.Minute), base.Add(3 * time.Hour)} {
		for _, w := range []time.Duration{30 * time.Minute, time.Hour, 24 * time.Hour} {
			type sum struct {
				amount decimal.Decimal
				count  int64
				oldest time.Time
			}
			sums := map[[2]string]*sum{}
			for _, e := range old {
				if !e.At.After(now.Add(-w)) {
					continue
				}
				k := [2]string{e.Limit, e.Key}
				if sums[k] == nil {
					sums[k] = &sum{oldest: e.At}
				}
				sums[k].amount = sums[k].amount.Add(dec(e.Amount))
				sums[k].count++
				if e.At.Before(sums[k].oldest) {
					sums[k].oldest = e.At
				}
			}
			var want []store.Usage
			for _, l := range []string{"L1", "L2"} {
				for _, k := range []string{"a", "b"} {
					if x := sums[[2]string{l, k}]; x != nil {
						want = append(want, store.Usage{Limit: l, Key: k, Amount: x.amount, Count: x.count, Oldest: x.oldest})
					}
				}
			}
			checkUsage(t, usage(t, s, now, map[string]time.Duration{"L1": w, "L2": w}), want)
			for _, u := range want {
				amount := u.Amount
				uses := []store.LimitUse{
					{Limit: u.Limit, Key: u.Key, Window: w, Amount: dec("0.000000000000000001"), MaxAmount: &amount},
					{Limit: u.Limit, Key: u.Key, Window: w, Amount: dec("0"), MaxCount: u.Count},
				}
				reasons := []string{
					fmt.Sprintf(`limit %q exceeded: window %s, used %s of %s (this request 0.000000000000000001)`, u.Limit, formatWindow(w), u.Amount, u.Amount),
					fmt.Sprintf(`limit %q exceeded: window %s, used %d of %d transactions (this request 1)`, u.Limit, formatWindow(w), u.Count, u.Count),
				}
				for i, use := range uses {
					probe++
					rec := NewRecord(fmt.Sprintf("probe-%d", probe))
					rec.ReceivedAt = now
					got := Commit(t, s, rec, use)
					if got.Action != store.ActionReject || got.Reason != reasons[i] {
						t.Errorf("at %s, window %s, %s/%s: %s %q, want REJECT %q", now, w, u.Limit, u.Key, got.Action, got.Reason, reasons[i])
					}
				}
			}
		}
	}
}
