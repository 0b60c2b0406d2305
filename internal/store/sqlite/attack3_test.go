package sqlite

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"tssgate/internal/decimal"
	"tssgate/internal/store"
	"tssgate/internal/store/storetest"
)

func TestAttack3Conformance(t *testing.T) {
	storetest.Attack3(t, func(t *testing.T) store.Store {
		s, _ := openTest(t)
		return testStore{s}
	})
}

// commitEach is commitAll with per-member uses and received times.
func commitEach(t *testing.T, s *Store, recs []store.Record, uses [][]store.LimitUse) []result {
	t.Helper()
	release := holdCommits(t, s)
	out := make([]result, len(recs))
	var wg sync.WaitGroup
	for i, rec := range recs {
		wg.Go(func() {
			r, existed, err := s.Commit(context.Background(), rec, uses[i])
			out[i] = result{r, existed, err}
		})
		waitQueued(t, s, i+1) // keep queue order = index order
	}
	release()
	wg.Wait()
	return out
}

func a3use(limit, key string, w time.Duration, amount, max string) store.LimitUse {
	m := decimal.MustParse(max)
	return store.LimitUse{Limit: limit, Key: key, Window: w, Amount: decimal.MustParse(amount), MaxAmount: &m}
}

// TestAttack3GroupSameKeyMixed: one batch with members on one key, with
// received times going backwards, shared tx keys, a retry and a conflict:
// the members after each see exactly what was approved before them.
func TestAttack3GroupSameKeyMixed(t *testing.T) {
	s, _ := openTest(t)
	base := storetest.Base.UTC().Truncate(time.Microsecond)
	var recs []store.Record
	var uses [][]store.LimitUse
	add := func(id, tx string, at time.Time, u ...store.LimitUse) {
		r := storetest.NewRecord(id)
		r.TxKey, r.ReceivedAt = tx, at
		if tx == "tx-zzz" {
			r.Request = []byte(`{"request_id":"m2","other":true}`)
		}
		recs, uses = append(recs, r), append(uses, u)
	}
	L := func(a string) store.LimitUse { return a3use("G", "k", time.Hour, a, "50") }
	H := func(a string) store.LimitUse { return a3use("H", "k", 24*time.Hour, a, "70") }
	add("m0", "tx-a", base.Add(time.Hour), L("20"), H("20"))         // G 20, H 20
	add("m1", "tx-a", base.Add(time.Hour), L("20"), H("20"))         // same tx: both skipped
	add("m2", "tx-b", base, L("20"), H("20"))                        // back 1h: G 40, H 40 (clamped)
	add("m3", "tx-c", base.Add(2*time.Hour), L("20"), H("20"))       // G window starts T+1h: entries at T+1h (clamped) are out -> G 20 fits; H 60
	add("m3", "tx-c", base.Add(2*time.Hour), L("20"), H("20"))       // retry of m3: existed
	add("m2", "tx-zzz", base.Add(2*time.Hour), L("1"), H("1"))       // conflict
	add("m4", "tx-d", base.Add(2*time.Hour), L("30.000001"), H("1")) // G 20+30.000001 > 50
	add("m5", "tx-e", base.Add(2*time.Hour), H("10"))                // H 70
	add("m6", "tx-f", base.Add(2*time.Hour), H("0.0000001"))         // H full
	add("m7", "tx-g", base.Add(2*time.Hour), L("30"))                // G 50
	out := commitEach(t, s, recs, uses)
	want := []string{"APPROVE", "APPROVE", "APPROVE", "APPROVE", "existed", "conflict", "REJECT", "APPROVE", "REJECT", "APPROVE"}
	for i, r := range out {
		got := ""
		switch {
		case r.err != nil && i == 5:
			got = "conflict"
		case r.err != nil:
			t.Fatalf("member %d: %v", i, r.err)
		case r.existed:
			got = "existed"
		default:
			got = r.rec.Action
		}
		if got != want[i] {
			t.Errorf("member %d (%s): %s (%v), want %s", i, recs[i].RequestID, got, r.rec, want[i])
		}
	}
	u, err := s.LimitUsage(context.Background(), base.Add(2*time.Hour), map[string]time.Duration{"G": time.Hour, "H": 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// m2's clamped entry is at T+1h: G's hour from T+1h excludes m0 and m2.
	if len(u) != 2 || u[0].Amount.Cmp(decimal.MustParse("50")) != 0 || u[0].Count != 2 ||
		u[1].Amount.Cmp(decimal.MustParse("70")) != 0 || u[1].Count != 4 {
		t.Errorf("usage %+v, want G 50 in 2, H 70 in 4", u)
	}
}

// TestAttack3GroupFailedMemberKeepsTotals: a batch that fails after its
// members wrote ledger rows leaves no total behind; the next batch on the
// same key sees the pre-batch total exactly.
func TestAttack3GroupFailedMemberKeepsTotals(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	base := storetest.Base.UTC().Truncate(time.Microsecond)
	L := func(a string) store.LimitUse { return a3use("F", "k", time.Hour, a, "100") }
	r := storetest.NewRecord("pre")
	r.ReceivedAt = base
	if got := storetest.Commit(t, s, r, L("40")); got.Action != store.ActionApprove {
		t.Fatal(got.Reason)
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TRIGGER poison BEFORE INSERT ON limit_ledger WHEN NEW.tx_key = 'tx-poison'
		BEGIN SELECT RAISE(ABORT, 'poisoned'); END`); err != nil {
		t.Fatal(err)
	}
	var recs []store.Record
	var uses [][]store.LimitUse
	for i := range 5 {
		r := storetest.NewRecord(fmt.Sprintf("b1-%d", i))
		r.ReceivedAt = base.Add(time.Duration(i+1) * time.Minute)
		recs, uses = append(recs, r), append(uses, []store.LimitUse{L("10")})
	}
	r = storetest.NewRecord("poison")
	r.TxKey, r.ReceivedAt = "tx-poison", base.Add(10*time.Minute)
	recs, uses = append(recs, r), append(uses, []store.LimitUse{L("1")})
	for i, o := range commitEach(t, s, recs, uses) {
		if o.err == nil {
			t.Errorf("member %d of the failed batch: %s, want an error", i, o.rec.Action)
		}
	}
	// 60 of headroom remain, and no clamp to T+10m happened: at T+1h+1µs
	// the pre entry is outside the window.
	recs, uses = nil, nil
	for i := range 8 {
		r := storetest.NewRecord(fmt.Sprintf("b2-%d", i))
		r.ReceivedAt = base.Add(30 * time.Minute)
		recs, uses = append(recs, r), append(uses, []store.LimitUse{L("10")})
	}
	approved := 0
	for i, o := range commitEach(t, s, recs, uses) {
		if o.err != nil {
			t.Fatalf("member %d: %v", i, o.err)
		}
		if o.rec.Action == store.ActionApprove {
			approved++
		}
	}
	if approved != 6 {
		t.Errorf("%d approved after the failed batch, want 6 (60 of headroom)", approved)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM limit_ledger").Scan(&n); err != nil || n != 7 {
		t.Errorf("%d ledger rows (%v), want 7", n, err)
	}
}
