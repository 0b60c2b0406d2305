package storetest

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"tssgate/internal/decimal"
	"tssgate/internal/store"
	"tssgate/internal/store/internal/chain"
)

// BulkLoader fills an empty store fast, for the tests and benchmarks of
// large windows. Implementations provide it from their _test.go files only,
// next to Tamperer.
type BulkLoader interface {
	// BulkLedger writes n approved decisions with seq 1..n into an empty
	// store, the i-th received at end-(n-i)*spacing, each with one ledger
	// entry of BulkAmount under (limit, key) with tx_key "bulk-i" and the
	// running totals Commit would have written (i*BulkAmount and i). The
	// rows carry empty hashes: the chain of a bulk-loaded store does not
	// verify, and the tests using it never Verify.
	BulkLedger(ctx context.Context, n int, limit, key string, end time.Time, spacing time.Duration) error
}

// BulkAmount is the amount of every bulk-loaded ledger entry: a fraction,
// so that the totals exercise exact decimal arithmetic.
const BulkAmount = "1.5"

// bulkTotal is n*BulkAmount, computed independently of the store.
func bulkTotal(n int64) decimal.Decimal {
	return decimal.New(big.NewInt(15*n), 1)
}

// Bulk calls s's BulkLedger and fails the test when s has none or it fails.
func Bulk(tb testing.TB, s store.Store, n int, limit, key string, end time.Time, spacing time.Duration) {
	tb.Helper()
	bl, ok := s.(BulkLoader)
	if !ok {
		tb.Fatalf("%T does not implement storetest.BulkLoader", s)
	}
	if err := bl.BulkLedger(context.Background(), n, limit, key, end, spacing); err != nil {
		tb.Fatalf("BulkLedger(%d): %v", n, err)
	}
}

// testLimitLargeWindow holds one key's window at 10^5 entries and checks
// that Commit sees exactly their usage, at the edge of the caps, for the
// whole window and for a window starting in the middle of the entries, and
// that retries do not count twice.
func testLimitLargeWindow(t *testing.T, open func(t *testing.T) store.Store) {
	const n = 100_000
	s := open(t)
	ctx := context.Background()
	spacing := time.Millisecond
	end := chain.NormalizeTime(Base)
	Bulk(t, s, n, "big", "k", end, spacing)

	at := end.Add(time.Second)
	total := bulkTotal(n)
	checkUsage(t, usage(t, s, at, map[string]time.Duration{"big": time.Hour}),
		[]store.Usage{{Limit: "big", Key: "k", Amount: total, Count: n, Oldest: end.Add(-(n - 1) * spacing)}})

	next := 0
	commit := func(u store.LimitUse, txKey string) *store.Record {
		t.Helper()
		next++
		rec := NewRecord(fmt.Sprintf("after-%d", next))
		rec.ReceivedAt = at
		if txKey != "" {
			rec.TxKey = txKey
		}
		return Commit(t, s, rec, u)
	}
	capAt := func(d decimal.Decimal) *decimal.Decimal { return &d }
	amount := func(a string, max decimal.Decimal) store.LimitUse {
		return store.LimitUse{Limit: "big", Key: "k", Window: time.Hour, Amount: dec(a), MaxAmount: capAt(max)}
	}

	// The whole window: n*1.5 used; a request that reaches the cap exactly
	// passes, and then the smallest amount more is refused.
	full := total.Add(dec("1.5"))
	if got := commit(amount("1.5", full), ""); got.Action != store.ActionApprove {
		t.Fatalf("reaching the cap exactly over %d entries: %s (%s)", n, got.Action, got.Reason)
	}
	got := commit(amount("0.000001", full), "")
	want := fmt.Sprintf(`limit "big" exceeded: window 1h, used %s of %s (this request 0.000001)`, full, full)
	if got.Action != store.ActionReject || got.Reason != want {
		t.Fatalf("one millionth over the cap: %s %q, want REJECT %q", got.Action, got.Reason, want)
	}
	count := store.LimitUse{Limit: "big", Key: "k", Window: time.Hour, Amount: dec("0"), MaxCount: n + 1}
	got = commit(count, "")
	want = fmt.Sprintf(`limit "big" exceeded: window 1h, used %d of %d transactions (this request 1)`, n+1, n+1)
	if got.Action != store.ActionReject || got.Reason != want {
		t.Fatalf("count cap over %d entries: %s %q, want REJECT %q", n, got.Action, got.Reason, want)
	}

	// A window that starts among the bulk entries: entry i is inside when
	// end-(n-i)*spacing > at-window, counted here without the store.
	window := 40*time.Second + 500*time.Microsecond
	cutoff := at.Add(-window)
	var inside int64
	for i := int64(1); i <= n; i++ {
		if end.Add(-time.Duration(n-i) * spacing).After(cutoff) {
			inside++
		}
	}
	inside++ // the approval above, at `at`
	mid := store.LimitUse{Limit: "big", Key: "k", Window: window, Amount: dec("0"), MaxCount: inside + 1}
	if got := commit(mid, "tx-mid"); got.Action != store.ActionApprove {
		t.Fatalf("window of %s holding %d entries, cap %d: %s (%s)", window, inside, inside+1, got.Action, got.Reason)
	}
	// The same transaction again (another node, a new request_id) is
	// already counted; a retry of the same request is answered from the
	// record. Neither counts.
	if got := commit(mid, "tx-mid"); got.Action != store.ActionApprove {
		t.Fatalf("the counted transaction again: %s (%s)", got.Action, got.Reason)
	}
	retry := NewRecord(fmt.Sprintf("after-%d", next))
	retry.ReceivedAt, retry.TxKey = at, "tx-mid"
	if _, existed, err := s.Commit(ctx, retry, []store.LimitUse{mid}); err != nil || !existed {
		t.Fatalf("retry: existed %v, err %v", existed, err)
	}
	got = commit(mid, "tx-other")
	want = fmt.Sprintf(`limit "big" exceeded: window %s, used %d of %d transactions (this request 1)`, "40.0005s", inside+1, inside+1)
	if got.Action != store.ActionReject || got.Reason != want {
		t.Fatalf("a new transaction in the full %s window: %s %q, want REJECT %q", window, got.Action, got.Reason, want)
	}
	checkUsage(t, usage(t, s, at, map[string]time.Duration{"big": time.Hour}),
		[]store.Usage{{Limit: "big", Key: "k", Amount: full, Count: n + 2, Oldest: end.Add(-(n - 1) * spacing)}})
}

// testLimitWindowEdges puts one entry just before a window's start, one
// exactly at it and one just after, for windows from a microsecond to 30
// days, under an amount and a count limit: the start is exclusive (an entry
// at exactly now-window is outside), as it always was.
func testLimitWindowEdges(t *testing.T, open func(t *testing.T) store.Store) {
	for _, w := range []time.Duration{time.Microsecond, time.Second, time.Hour, 30 * 24 * time.Hour} {
		t.Run(w.String(), func(t *testing.T) {
			s := open(t)
			now := chain.NormalizeTime(Base).Add(w + 10*time.Microsecond)
			start := now.Add(-w)
			amt := func(a string) store.LimitUse {
				return store.LimitUse{Limit: "amt", Key: "k", Window: w, Amount: dec(a), MaxAmount: decPtr("150")}
			}
			cnt := store.LimitUse{Limit: "cnt", Key: "k", Window: w, Amount: dec("0"), MaxCount: 2}
			// The entries around the start are written without a count cap:
			// they are within a window of each other.
			seed := cnt
			seed.MaxCount = 0
			steps := []struct {
				id     string
				at     time.Time
				uses   []store.LimitUse
				want   string
				reason string
			}{
				{"before", start.Add(-time.Microsecond), []store.LimitUse{amt("1"), seed}, "APPROVE", ""},
				{"at-start", start, []store.LimitUse{amt("10"), seed}, "APPROVE", ""},
				{"after", start.Add(time.Microsecond), []store.LimitUse{amt("100"), seed}, "APPROVE", ""},
				// Only "after" is in the window: 100 + 50 reaches 150, 1 + 1 reaches 2.
				{"fits", now, []store.LimitUse{amt("50"), cnt}, "APPROVE", ""},
				{"count-over", now, []store.LimitUse{cnt}, "REJECT",
					fmt.Sprintf(`limit "cnt" exceeded: window %s, used 2 of 2 transactions (this request 1)`, formatWindow(w))},
				{"amount-over", now, []store.LimitUse{amt("0.000001")}, "REJECT",
					fmt.Sprintf(`limit "amt" exceeded: window %s, used 150 of 150 (this request 0.000001)`, formatWindow(w))},
			}
			for _, st := range steps {
				rec := NewRecord(st.id)
				rec.ReceivedAt = st.at
				got := Commit(t, s, rec, st.uses...)
				if got.Action != st.want || (st.reason != "" && got.Reason != st.reason) {
					t.Fatalf("%s: %s %q, want %s %q", st.id, got.Action, got.Reason, st.want, st.reason)
				}
			}
			oldest := start.Add(time.Microsecond)
			checkUsage(t, usage(t, s, now, map[string]time.Duration{"amt": w, "cnt": w}), []store.Usage{
				{Limit: "amt", Key: "k", Amount: dec("150"), Count: 2, Oldest: oldest},
				{Limit: "cnt", Key: "k", Amount: dec("0"), Count: 2, Oldest: oldest},
			})
		})
	}
}

// formatWindow spells a window as check.FormatWindow does, independently.
func formatWindow(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "m0s")
	if s != d.String() {
		s += "m"
	}
	if t := strings.TrimSuffix(s, "h0m"); t != s {
		s = t + "h"
	}
	return s
}

// testLimitLateEntry commits an entry whose received time is earlier than
// the key's newest entry (a replica with a slower clock): it is recorded at
// the newest time instead, so it stays in the window longer, never shorter.
func testLimitLateEntry(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	base := chain.NormalizeTime(Base)
	use := store.LimitUse{Limit: "late", Key: "k", Window: time.Hour, Amount: dec("1"), MaxCount: 2}
	first := NewRecord("first")
	first.ReceivedAt = base.Add(10 * time.Second)
	Commit(t, s, first, use)
	late := NewRecord("late")
	late.ReceivedAt = base
	if got := Commit(t, s, late, use); !got.ReceivedAt.Equal(base) {
		t.Errorf("the decision's received time changed to %s; only the ledger time may move", got.ReceivedAt)
	}
	// At base+1h+5s a ledger time of base would be outside the window; the
	// entry was recorded at base+10s and is still inside.
	now := base.Add(time.Hour + 5*time.Second)
	checkUsage(t, usage(t, s, now, map[string]time.Duration{"late": time.Hour}),
		[]store.Usage{{Limit: "late", Key: "k", Amount: dec("2"), Count: 2, Oldest: base.Add(10 * time.Second)}})
	third := NewRecord("third")
	third.ReceivedAt = now
	got := Commit(t, s, third, use)
	want := `limit "late" exceeded: window 1h, used 2 of 2 transactions (this request 1)`
	if got.Action != store.ActionReject || got.Reason != want {
		t.Errorf("after the late entry: %s %q, want REJECT %q", got.Action, got.Reason, want)
	}
}

// testLimitHugeTotals lets a window's sum grow beyond the 100 digits one
// amount may have: it stays exact (or the store would have to refuse the
// decision, never approve on a wrong sum).
func testLimitHugeTotals(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	nines := strings.Repeat("9", decimal.MaxDigits)
	one, _ := new(big.Int).SetString(nines, 10)
	three := decimal.New(new(big.Int).Mul(one, big.NewInt(3)), 0)
	use := func(a string) store.LimitUse {
		return store.LimitUse{Limit: "huge", Key: "k", Window: time.Hour, Amount: dec(a), MaxAmount: &three}
	}
	for i := range 3 {
		if got := Commit(t, s, NewRecord(fmt.Sprintf("h%d", i)), use(nines)); got.Action != store.ActionApprove {
			t.Fatalf("100-digit amount #%d: %s (%s)", i+1, got.Action, got.Reason)
		}
	}
	got, _, err := s.Commit(context.Background(), NewRecord("over"), []store.LimitUse{use("1")})
	if err != nil {
		t.Fatalf("one over a 101-digit cap: %v", err)
	}
	want := fmt.Sprintf(`limit "huge" exceeded: window 1h, used %s of %s (this request 1)`, three, three)
	if got.Action != store.ActionReject || got.Reason != want {
		t.Fatalf("one over a 101-digit cap: %s %q, want REJECT %q", got.Action, got.Reason, want)
	}
	u := usage(t, s, Base, map[string]time.Duration{"huge": time.Hour})
	if len(u) != 1 || u[0].Amount.Cmp(three) != 0 || u[0].Count != 3 {
		t.Errorf("usage = %+v, want %s in 3", u, three)
	}
}
