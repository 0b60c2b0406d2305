package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"tssgate/internal/store"
	"tssgate/internal/store/internal/chain"
)

// Attack3 is review3's attack suite on the running-total ledger. Each
// subtest asserts the secure behaviour, so it fails when an attack works.
func Attack3(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"WindowChangesBetweenDecisions", a3WindowChange},
		{"TwoLimitsShareKey", a3TwoLimitsShareKey},
		{"ClockBackwards", a3ClockBackwards},
		{"SubMicrosecondWindowBoundary", a3SubMicroWindow},
		{"TxKeySkippedOrCounted", a3TxKey},
		{"ManyDecimals", a3ManyDecimals},
		{"ConcurrentSkewedClocks", a3ConcurrentSkew},
		{"LimitUsageMatchesCheck", a3UsageMatchesCheck},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

type a3 struct {
	t *testing.T
	s store.Store
	n int
}

func (a *a3) commit(at time.Time, tx string, uses ...store.LimitUse) *store.Record {
	a.t.Helper()
	a.n++
	rec := NewRecord(fmt.Sprintf("a3-%03d", a.n))
	rec.ReceivedAt = at
	rec.TxKey = tx
	if tx == "auto" {
		rec.TxKey = "tx-" + rec.RequestID
	}
	return Commit(a.t, a.s, rec, uses...)
}

func (a *a3) want(at time.Time, action string, uses ...store.LimitUse) *store.Record {
	a.t.Helper()
	got := a.commit(at, "auto", uses...)
	if got.Action != action {
		a.t.Errorf("decision %d at %s (%v): %s (%s), want %s", a.n, at.UTC().Format(time.RFC3339Nano), describe(uses), got.Action, got.Reason, action)
	}
	return got
}

func describe(uses []store.LimitUse) string {
	var b []string
	for _, u := range uses {
		b = append(b, fmt.Sprintf("%s/%s %s w=%s", u.Limit, u.Key, u.Amount, u.Window))
	}
	return strings.Join(b, ", ")
}

func lu(limit, key string, w time.Duration, amount, max string) store.LimitUse {
	return store.LimitUse{Limit: limit, Key: key, Window: w, Amount: dec(amount), MaxAmount: decPtr(max)}
}

var a3T = chain.NormalizeTime(Base)

// a3WindowChange: the policy changes limit L's window between decisions
// (24h -> 1h -> 24h). Each check must use its own window over the same
// entries.
func a3WindowChange(t *testing.T, s store.Store) {
	a := &a3{t: t, s: s}
	day, hour := 24*time.Hour, time.Hour
	a.want(a3T, store.ActionApprove, lu("L", "k", day, "60", "100"))
	// 1h window two hours later: the 60 is outside it.
	a.want(a3T.Add(2*hour), store.ActionApprove, lu("L", "k", hour, "60", "100"))
	// 24h again: 120 already used in the day.
	a.want(a3T.Add(2*hour+time.Microsecond), store.ActionReject, lu("L", "k", day, "0.000001", "100"))
	// 1h window: only the second 60 counts; 40 fits exactly, 41 does not.
	a.want(a3T.Add(2*hour+2*time.Microsecond), store.ActionReject, lu("L", "k", hour, "41", "100"))
	a.want(a3T.Add(2*hour+3*time.Microsecond), store.ActionApprove, lu("L", "k", hour, "40", "100"))
	// A 3h window covers all of it: 160.
	a.want(a3T.Add(2*hour+4*time.Microsecond), store.ActionReject, lu("L", "k", 3*hour, "1", "160"))
	a.want(a3T.Add(2*hour+5*time.Microsecond), store.ActionApprove, lu("L", "k", 3*hour, "1", "161"))
	// A 30m window 31 minutes later holds none of them.
	a.want(a3T.Add(2*hour+31*time.Minute), store.ActionApprove, lu("L", "k", 30*time.Minute, "100", "100"))
}

// a3TwoLimitsShareKey: two limits on one key; one REJECT writes nothing for
// either, and each keeps its own total.
func a3TwoLimitsShareKey(t *testing.T, s store.Store) {
	a := &a3{t: t, s: s}
	A := func(amount string) store.LimitUse { return lu("A", "shared", time.Hour, amount, "10") }
	B := func(amount string) store.LimitUse { return lu("B", "shared", 24*time.Hour, amount, "15") }
	a.want(a3T, store.ActionApprove, A("8"), B("8"))
	// A's window is empty again, B is not: 8+8 > 15.
	a.want(a3T.Add(2*time.Hour), store.ActionReject, A("8"), B("8"))
	// The REJECT wrote nothing for A: A has 10 of headroom, B 7.
	a.want(a3T.Add(2*time.Hour+1), store.ActionApprove, A("7"), B("7"))
	a.want(a3T.Add(2*time.Hour+2*time.Microsecond), store.ActionReject, B("0.000000001"))
	a.want(a3T.Add(2*time.Hour+3*time.Microsecond), store.ActionReject, A("3.1"))
	a.want(a3T.Add(2*time.Hour+4*time.Microsecond), store.ActionApprove, A("3"))
	// Same name, another key: independent.
	a.want(a3T.Add(2*time.Hour+5*time.Microsecond), store.ActionApprove, lu("B", "other", 24*time.Hour, "15", "15"))
}

// a3ClockBackwards: a decision received before the key's newest entry is
// checked over a window ending at its own time, and its entry is clamped to
// the newest time; nothing falls out of a window early.
func a3ClockBackwards(t *testing.T, s store.Store) {
	a := &a3{t: t, s: s}
	day := 24 * time.Hour
	L := func(amount string) store.LimitUse { return lu("L", "k", day, amount, "100") }
	a.want(a3T.Add(time.Hour), store.ActionApprove, L("60"))
	a.want(a3T, store.ActionReject, L("41"))                     // clock back 1h: 60 is in the window
	a.want(a3T, store.ActionApprove, L("40"))                    // clamped to T+1h
	a.want(a3T.Add(-48*time.Hour), store.ActionReject, L("0.1")) // far back: everything later counts
	// At T+25h-1µs both entries (at T+1h) are still in the window.
	a.want(a3T.Add(25*time.Hour-time.Microsecond), store.ActionReject, L("0.1"))
	// At T+25h exactly they are at the window's start: outside.
	a.want(a3T.Add(25*time.Hour), store.ActionApprove, L("100"))
	// Backwards again to T+1h+1m: its window starts at T-23h+1m, so
	// the 100 at T+1h and the 100 at T+25h both count.
	a.want(a3T.Add(time.Hour+time.Minute), store.ActionReject, L("0.000001"))
	a.want(a3T.Add(time.Hour+2*time.Minute), store.ActionReject, lu("L", "k", day, "1", "200"))
	a.want(a3T.Add(time.Hour+3*time.Minute), store.ActionApprove, lu("L", "k", day, "1", "201"))
}

// a3SubMicroWindow: windows with sub-microsecond parts; stored times are
// microseconds, so the boundary must round the window toward including.
func a3SubMicroWindow(t *testing.T, s store.Store) {
	a := &a3{t: t, s: s}
	w := 24*time.Hour + 500*time.Nanosecond
	L := func(amount string) store.LimitUse { return lu("L", "k", w, amount, "100") }
	a.want(a3T, store.ActionApprove, L("100"))
	// Received 24h later: the entry at T is after T+24h-(24h+0.5µs) = T-0.5µs.
	a.want(a3T.Add(24*time.Hour), store.ActionReject, L("0.1"))
	// Received at T+24h+1µs: window starts T+0.5µs, entry at T is before it.
	a.want(a3T.Add(24*time.Hour+time.Microsecond), store.ActionApprove, L("100"))
	// Received with nanoseconds that truncate: T+48h+1µs+999ns is stored as
	// T+48h+1µs; the entry at T+24h+1µs is outside a 24h window from it.
	a.want(a3T.Add(48*time.Hour+time.Microsecond+999*time.Nanosecond), store.ActionApprove, lu("L", "k", 24*time.Hour, "100", "100"))
	// One nanosecond less than the window: entry at T+48h+1µs is in.
	a.want(a3T.Add(72*time.Hour+time.Microsecond), store.ActionReject, lu("L", "k", 24*time.Hour+time.Nanosecond, "0.1", "100"))
}

// a3TxKey: a transaction is skipped only under the (limit, key) where it
// is recorded; a REJECT records it nowhere.
func a3TxKey(t *testing.T, s store.Store) {
	a := &a3{t: t, s: s}
	L1 := func(amount string) store.LimitUse { return lu("L1", "k", time.Hour, amount, "100") }
	L2 := func(amount string) store.LimitUse { return lu("L2", "k", time.Hour, amount, "100") }
	// Fill L2 to 90.
	a.want(a3T, store.ActionApprove, L2("90"))
	// tx-X uses L1 60 and L2 60: REJECT by L2. Nothing for X in L1.
	if got := a.commit(a3T.Add(1), "tx-X", L1("60"), L2("60")); got.Action != store.ActionReject || got.Rule != "L2" {
		t.Errorf("tx-X first: %s %s, want REJECT by L2", got.Action, got.Rule)
	}
	// tx-Y takes L1 to 60.
	if got := a.commit(a3T.Add(2), "tx-Y", L1("60")); got.Action != store.ActionApprove {
		t.Errorf("tx-Y: %s %s", got.Action, got.Reason)
	}
	// tx-X again on L1 only: not counted before, so 60+60 > 100.
	if got := a.commit(a3T.Add(3), "tx-X", L1("60")); got.Action != store.ActionReject {
		t.Errorf("tx-X on L1 after its REJECT: %s, want REJECT (it was never counted)", got.Action)
	}
	// tx-Y again with L1 and L2: L1 skipped, L2 consumed (90+10 = 100).
	if got := a.commit(a3T.Add(4), "tx-Y", L1("60"), L2("10")); got.Action != store.ActionApprove {
		t.Errorf("tx-Y again: %s %s, want APPROVE (L1 counted, L2 fits)", got.Action, got.Reason)
	}
	// L2 is full; L1 has 40.
	if got := a.commit(a3T.Add(5), "tx-Z", L2("0.01")); got.Action != store.ActionReject {
		t.Errorf("L2 after tx-Y: %s, want REJECT", got.Action)
	}
	if got := a.commit(a3T.Add(6), "tx-W", L1("40.01")); got.Action != store.ActionReject {
		t.Errorf("L1 40.01: %s, want REJECT", got.Action)
	}
	// Empty tx keys are never skipped.
	if got := a.commit(a3T.Add(7), "", L1("40")); got.Action != store.ActionApprove {
		t.Errorf("empty tx 40: %s", got.Action)
	}
	if got := a.commit(a3T.Add(8), "", L1("0.0000001")); got.Action != store.ActionReject {
		t.Errorf("empty tx again: %s, want REJECT", got.Action)
	}
	u := usage(t, s, a3T.Add(9), map[string]time.Duration{"L1": time.Hour, "L2": time.Hour})
	checkUsage(t, u, []store.Usage{
		{Limit: "L1", Key: "k", Amount: dec("100"), Count: 2, Oldest: a3T},
		{Limit: "L2", Key: "k", Amount: dec("100"), Count: 2, Oldest: a3T},
	})
}

// a3ManyDecimals: amounts at many scales sum exactly; a running total
// difference of mixed scales must never round.
func a3ManyDecimals(t *testing.T, s store.Store) {
	a := &a3{t: t, s: s}
	third := "0." + strings.Repeat("3", 99)
	tiny := "0." + strings.Repeat("0", 98) + "1"
	L := func(amount string) store.LimitUse { return lu("L", "k", time.Hour, amount, "1") }
	for i := 0; i < 3; i++ {
		a.want(a3T.Add(time.Duration(i)*time.Microsecond), store.ActionApprove, L(third))
	}
	a.want(a3T.Add(3*time.Microsecond), store.ActionApprove, L(tiny))
	a.want(a3T.Add(4*time.Microsecond), store.ActionReject, L(tiny))
	a.want(a3T.Add(5*time.Microsecond), store.ActionApprove, L("0"))
	// Big integers and tiny fractions on another key.
	big := strings.Repeat("9", 99)
	maxM := big + ".5"
	N := func(amount string) store.LimitUse { return lu("N", "k", time.Hour, amount, maxM) }
	a.want(a3T, store.ActionApprove, N(big))
	a.want(a3T.Add(time.Microsecond), store.ActionApprove, N("0.4"+strings.Repeat("9", 50)))
	a.want(a3T.Add(2*time.Microsecond), store.ActionReject, N("0."+strings.Repeat("0", 50)+"2"))
	a.want(a3T.Add(3*time.Microsecond), store.ActionApprove, N("0."+strings.Repeat("0", 50)+"1"))
	a.want(a3T.Add(4*time.Microsecond), store.ActionReject, N(tiny))
	// A window starting at the first N entry: usage is the later ones
	// only (0.5), so big fits exactly once more, and then nothing.
	a.want(a3T.Add(time.Hour), store.ActionApprove, N(big))
	a.want(a3T.Add(time.Hour), store.ActionReject, N(tiny))
}

// a3ConcurrentSkew: concurrent decisions on one key with received times
// jumping back and forth (replicas with skewed clocks, requests decided
// slowly): no more than the cap is ever approved in any window, and the
// usage the store reports equals what was approved.
func a3ConcurrentSkew(t *testing.T, s store.Store) { Attack3Skew(t, s) }

// Attack3Skew races 60 decisions with skewed received times over stores
// (replicas of one database): exactly 14 of 7 fit a cap of 100.
func Attack3Skew(t *testing.T, stores ...store.Store) {
	const n = 60
	var wg sync.WaitGroup
	var mu sync.Mutex
	approved := 0
	var errs []error
	for i := range n {
		s := stores[i%len(stores)]
		wg.Go(func() {
			rec := NewRecord(fmt.Sprintf("skew-%02d", i))
			// times in [T-30m, T+30m], shuffled by i
			off := time.Duration((i*37)%61-30) * time.Minute
			rec.ReceivedAt = a3T.Add(off)
			got, _, err := s.Commit(context.Background(), rec, []store.LimitUse{lu("S", "k", 2*time.Hour, "7", "100")})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			if got.Action == store.ActionApprove {
				approved++
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d errors, first %v", len(errs), errs[0])
	}
	if approved != 14 {
		t.Errorf("%d approved at 7 each under a cap of 100 within one window, want 14", approved)
	}
	u := usage(t, stores[0], a3T.Add(31*time.Minute), map[string]time.Duration{"S": 2 * time.Hour})
	if len(u) != 1 || u[0].Count != int64(approved) || u[0].Amount.Cmp(dec(fmt.Sprint(7*approved))) != 0 {
		t.Errorf("usage %+v, want %d entries of 7", u, approved)
	}
}

// a3UsageMatchesCheck: after clamped entries, LimitUsage and the check
// agree at each window edge.
func a3UsageMatchesCheck(t *testing.T, s store.Store) {
	a := &a3{t: t, s: s}
	L := func(amount string) store.LimitUse { return lu("L", "k", time.Hour, amount, "10") }
	a.want(a3T.Add(30*time.Minute), store.ActionApprove, L("3"))
	a.want(a3T, store.ActionApprove, L("3")) // clamped to T+30m
	a.want(a3T.Add(31*time.Minute), store.ActionApprove, L("3"))
	for _, tc := range []struct {
		now   time.Duration
		count int64
	}{
		{90*time.Minute - time.Microsecond, 3},
		{90 * time.Minute, 1},
		{91*time.Minute - time.Microsecond, 1},
		{91 * time.Minute, 0},
	} {
		u := usage(t, s, a3T.Add(tc.now), map[string]time.Duration{"L": time.Hour})
		var got int64
		if len(u) == 1 {
			got = u[0].Count
		}
		if got != tc.count {
			t.Errorf("LimitUsage at T+%s: count %d, want %d", tc.now, got, tc.count)
		}
	}
	// The check at T+90m-1µs sees 9: 1 fits, 1.01 does not.
	a.want(a3T.Add(90*time.Minute-time.Microsecond), store.ActionReject, L("1.01"))
	a.want(a3T.Add(90*time.Minute-time.Microsecond), store.ActionApprove, L("1"))
}
