package memledger

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"tssgate/internal/decimal"
	"tssgate/internal/store"
	"tssgate/internal/store/postgres"
	"tssgate/internal/store/sqlite"
)

// realStores opens the stores the ledger must agree with: a SQLite file,
// and PostgreSQL when TSSGATE_TEST_POSTGRES names one (a fresh schema is
// not needed: request ids and limit names are unique per run).
func realStores(t *testing.T) map[string]store.Store {
	t.Helper()
	out := map[string]store.Store{}
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	out["sqlite"] = s
	if dsn := os.Getenv("TSSGATE_TEST_POSTGRES"); dsn != "" {
		p, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatalf("postgres: %v", err)
		}
		t.Cleanup(func() { p.Close() })
		out["postgres"] = p
	}
	return out
}

func dec(s string) decimal.Decimal { return decimal.MustParse(s) }

func decPtr(s string) *decimal.Decimal { d := dec(s); return &d }

// step is one approval the sequences submit.
type step struct {
	at   time.Time
	tx   string
	uses []store.LimitUse
}

// randomSteps builds a sequence that exercises the window edges: times on
// a one-second grid (so entries land exactly on window starts), now and
// then a step back in time (a replica behind another), a small pool of
// transaction keys (the same transaction counted once), few keys (many
// entries under one key), and amounts at several scales.
func randomSteps(r *rand.Rand, n int, run string) []step {
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	limits := []struct {
		name   string
		window time.Duration
		amount *decimal.Decimal
		count  int64
	}{
		{run + "-amount", 10 * time.Second, decPtr("7.5"), 0},
		{run + "-count", 30 * time.Second, nil, 6},
		{run + "-both", 20 * time.Second, decPtr("12.25"), 9},
	}
	amounts := []string{"0", "0.5", "1", "1.25", "2.000001", "3", "0.0000001", "4.5"}
	at := base
	var out []step
	for i := range n {
		switch r.IntN(10) {
		case 0:
			at = at.Add(-time.Duration(r.IntN(3)) * time.Second) // a step back
		case 1:
			at = at.Add(time.Duration(r.IntN(1000)) * time.Microsecond)
		default:
			at = at.Add(time.Duration(r.IntN(4)) * time.Second)
		}
		tx := ""
		if r.IntN(3) > 0 {
			tx = fmt.Sprintf("tx-%d", r.IntN(n/3+1))
		}
		var uses []store.LimitUse
		for _, l := range limits {
			if r.IntN(4) == 0 {
				continue
			}
			uses = append(uses, store.LimitUse{Limit: l.name, Key: fmt.Sprintf(`["k%d"]`, r.IntN(2)), Window: l.window,
				Amount: dec(amounts[r.IntN(len(amounts))]), MaxAmount: l.amount, MaxCount: l.count})
		}
		_ = i
		out = append(out, step{at: at, tx: tx, uses: uses})
	}
	return out
}

// TestDecideMatchesStores runs random sequences through the ledger and
// through the real stores' Commit and requires the same decision (the
// limit named and its reason word for word) at every step, and the same
// usage report at several instants afterwards.
func TestDecideMatchesStores(t *testing.T) {
	stores := realStores(t)
	for seed := range uint64(4) {
		t.Run(fmt.Sprintf("seed-%d", seed), func(t *testing.T) {
			run := fmt.Sprintf("m%d-%d", seed, time.Now().UnixNano())
			steps := randomSteps(rand.New(rand.NewPCG(seed, 99)), 120, run)
			for name, st := range stores {
				l := New()
				var approved, rejected int
				for i, s := range steps {
					rec := store.Record{RequestID: fmt.Sprintf("%s-%d", run, i), Version: "v2", Type: "KEYSIGN", ReceivedAt: s.at,
						Request: []byte(`{}`), TxKey: s.tx, Action: store.ActionApprove, Rule: "r", PolicyVersion: "p"}
					got, _, err := st.Commit(context.Background(), rec, s.uses)
					if err != nil {
						t.Fatalf("%s: step %d: Commit: %v", name, i, err)
					}
					limit, reason, err := l.Decide(s.at, s.tx, s.uses)
					if err != nil {
						t.Fatalf("step %d: Decide: %v", i, err)
					}
					wantLimit, wantReason := "", ""
					if got.Action == store.ActionReject {
						wantLimit, wantReason = got.Rule, got.Reason
						rejected++
					} else {
						approved++
					}
					if limit != wantLimit || reason != wantReason {
						t.Fatalf("%s: step %d at %s: ledger says (%q, %q), the store (%q, %q)", name, i, s.at, limit, reason, wantLimit, wantReason)
					}
				}
				if approved == 0 || rejected == 0 {
					t.Fatalf("%s: the sequence never exercised both outcomes (%d approved, %d rejected)", name, approved, rejected)
				}
				windows := map[string]time.Duration{run + "-amount": 10 * time.Second, run + "-count": 30 * time.Second, run + "-both": 20 * time.Second}
				last := steps[len(steps)-1].at
				for _, now := range []time.Time{last, last.Add(5 * time.Second), last.Add(-7 * time.Second), last.Add(25 * time.Second)} {
					want, err := st.LimitUsage(context.Background(), now, windows)
					if err != nil {
						t.Fatal(err)
					}
					got, err := l.Usage(now, windows)
					if err != nil {
						t.Fatal(err)
					}
					if fmt.Sprint(usageText(got)) != fmt.Sprint(usageText(want)) {
						t.Fatalf("%s: usage at %s:\nledger %v\nstore  %v", name, now, usageText(got), usageText(want))
					}
				}
			}
		})
	}
}

func usageText(us []store.Usage) []string {
	var out []string
	for _, u := range us {
		out = append(out, fmt.Sprintf("%s %s %s %d %s", u.Limit, u.Key, u.Amount, u.Count, u.Oldest.Format(time.RFC3339Nano)))
	}
	return out
}

func TestLedgerCases(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	use := func(amount string) store.LimitUse {
		return store.LimitUse{Limit: "daily", Key: `["w"]`, Window: time.Hour, Amount: dec(amount), MaxAmount: decPtr("10")}
	}
	tests := []struct {
		name  string
		prior []step
		at    time.Time
		tx    string
		use   store.LimitUse
		want  string // the limit named, "" when it fits
	}{
		{"fits exactly at the cap", []step{{t0, "a", []store.LimitUse{use("6")}}}, t0.Add(time.Minute), "b", use("4"), ""},
		{"one unit over", []step{{t0, "a", []store.LimitUse{use("6")}}}, t0.Add(time.Minute), "b", use("4.000001"), "daily"},
		{"entry exactly at the window start is outside", []step{{t0, "a", []store.LimitUse{use("6")}}}, t0.Add(time.Hour), "b", use("5"), ""},
		{"one microsecond inside the window", []step{{t0, "a", []store.LimitUse{use("6")}}}, t0.Add(time.Hour - time.Microsecond), "b", use("5"), "daily"},
		{"same transaction counts once", []step{{t0, "a", []store.LimitUse{use("9")}}}, t0.Add(time.Minute), "a", use("9"), ""},
		{"many entries under one key", func() []step {
			var s []step
			for i := range 100 {
				s = append(s, step{t0.Add(time.Duration(i) * time.Second), fmt.Sprint(i), []store.LimitUse{use("0.1")}})
			}
			return s
		}(), t0.Add(2 * time.Minute), "x", use("0.000001"), "daily"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := New()
			for _, s := range tc.prior {
				if err := l.Record(s.at, s.tx, s.uses); err != nil {
					t.Fatal(err)
				}
			}
			got, _, err := l.Decide(tc.at, tc.tx, []store.LimitUse{tc.use})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("Decide named %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPruneAndInvalid(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	u := store.LimitUse{Limit: "l", Key: `["w"]`, Window: time.Hour, Amount: dec("1"), MaxCount: 2}
	l := New()
	for i := range 3 {
		if err := l.Record(t0.Add(time.Duration(i)*time.Minute), "", []store.LimitUse{u}); err != nil {
			t.Fatal(err)
		}
	}
	l.Prune(t0.Add(30 * time.Second)) // forgets the first entry only
	// A window starting after the pruned entry is exact: two entries.
	if limit, _, err := l.Decide(t0.Add(time.Hour+30*time.Second), "", []store.LimitUse{u}); err != nil || limit != "l" {
		t.Fatalf("after prune: (%q, %v), want the count cap to reject", limit, err)
	}
	// A window starting before it cannot be known.
	if _, _, err := l.Decide(t0.Add(10*time.Minute), "", []store.LimitUse{u}); !errors.Is(err, ErrPruned) {
		t.Fatalf("window before the pruned entries: %v, want ErrPruned", err)
	}
	bad := u
	bad.Amount = dec("-1")
	if _, _, err := l.Decide(t0, "", []store.LimitUse{bad}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("negative amount: %v, want ErrInvalid", err)
	}
	if _, _, err := l.Decide(t0, "", []store.LimitUse{u, u}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("one limit twice: %v, want ErrInvalid", err)
	}
}

// TestPruneKeepsCountedDropsEmpty: a Prune that empties a (limit, key)
// drops it (what grows is only the counted transactions), keeps every
// counted transaction key (a re-signed transaction is skipped, as the
// stores skip it), and refuses a window starting before the pruned time
// for any key, one it dropped or one it never saw, rather than read it
// as empty.
func TestPruneKeepsCountedDropsEmpty(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	use := func(key string) []store.LimitUse {
		return []store.LimitUse{{Limit: "l", Key: key, Window: time.Hour, Amount: dec("1"), MaxCount: 1}}
	}
	l := New()
	if err := l.Record(t0, "tx-A", use(`["a"]`)); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(t0.Add(2*time.Hour), "tx-B", use(`["b"]`)); err != nil {
		t.Fatal(err)
	}
	l.Prune(t0.Add(time.Hour))
	if len(l.series) != 1 || l.series[seriesKey{"l", `["a"]`}] != nil {
		t.Fatalf("after the prune: %d series kept (%v), want only [\"b\"]", len(l.series), l.series)
	}
	if len(l.counted) != 2 {
		t.Fatalf("counted transactions after the prune: %d, want 2", len(l.counted))
	}
	at := t0.Add(3 * time.Hour)
	// tx-A counted under ["a"] before the prune: skipped, writing
	// nothing, so tx-C is the first in the window and tx-D exceeds it
	// (had tx-A counted again, tx-C would).
	for _, step := range []struct{ tx, want string }{{"tx-A", ""}, {"tx-C", ""}, {"tx-D", "l"}} {
		limit, _, err := l.Decide(at, step.tx, use(`["a"]`))
		if err != nil || limit != step.want {
			t.Fatalf("%s: (%q, %v), want %q", step.tx, limit, err, step.want)
		}
	}
	for _, key := range []string{`["a"]`, `["never"]`} {
		if _, _, err := l.Decide(t0.Add(90*time.Minute), "tx-E", use(key)); !errors.Is(err, ErrPruned) {
			t.Fatalf("%s: window from before the pruned time: %v, want ErrPruned", key, err)
		}
	}
}
