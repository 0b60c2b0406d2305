package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"tssgate/internal/store"
)

// freezeCases are the freeze tests Run adds.
var freezeCases = []struct {
	name string
	fn   func(t *testing.T, open func(t *testing.T) store.Store)
}{
	{"FreezeBlocksApprovals", testFreezeBlocks},
	{"FreezeInvalid", testFreezeInvalid},
	{"FreezeLiftSignatures", testLiftSignatures},
	{"FreezeConcurrentCommits", testFreezeConcurrent},
	{"FreezeSeveral", testFreezeSeveral},
}

// Freeze records a freeze with id, reason and operator "alice" at at
// through s, failing the test on error.
func Freeze(t testing.TB, s store.Store, id, reason string, at time.Time) (*store.Freeze, *store.Record) {
	t.Helper()
	f := store.Freeze{ID: id, Reason: reason, By: "alice"}
	got, rec, err := s.Freeze(context.Background(), store.FreezeRecord(f, at), f)
	if err != nil {
		t.Fatalf("Freeze(%s): %v", id, err)
	}
	return got, rec
}

// Unfreeze lifts freeze id through s as operator "bob", failing the test
// on error.
func Unfreeze(t testing.TB, s store.Store, id string, signers []string, at time.Time) (*store.Freeze, *store.Record) {
	t.Helper()
	f, rec, err := s.Unfreeze(context.Background(), store.UnfreezeRecord(id, "bob", signers, at), id, signers)
	if err != nil {
		t.Fatalf("Unfreeze(%s): %v", id, err)
	}
	return f, rec
}

func activeIDs(t testing.TB, s store.Store) []string {
	t.Helper()
	fs, err := s.ActiveFreezes(context.Background())
	if err != nil {
		t.Fatalf("ActiveFreezes: %v", err)
	}
	ids := []string{}
	for _, f := range fs {
		if !f.Active() {
			t.Errorf("ActiveFreezes returned lifted freeze %s", f.ID)
		}
		ids = append(ids, f.ID)
	}
	return ids
}

// checkFrozen fails unless got is the REJECT an active freeze id with
// reason makes of an APPROVE.
func checkFrozen(t testing.TB, what string, got *store.Record, id, reason string) {
	t.Helper()
	if got.Action != store.ActionReject || got.Rule != "builtin:frozen" {
		t.Errorf("%s: %s by %q (%s), want REJECT by builtin:frozen", what, got.Action, got.Rule, got.Reason)
		return
	}
	if !strings.Contains(got.Reason, id) || !strings.Contains(got.Reason, reason) {
		t.Errorf("%s: reason %q does not name freeze %s and its reason %q", what, got.Reason, id, reason)
	}
	if got.Status != 0 {
		t.Errorf("%s: status %d, want 0 (an evaluated REJECT)", what, got.Status)
	}
}

func testFreezeBlocks(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := context.Background()
	before := Commit(t, s, NewRecord("before"), limitUse("10"))
	if ids := activeIDs(t, s); len(ids) != 0 {
		t.Fatalf("active freezes on a new store: %v", ids)
	}
	const id, reason = "0123456789abcdef", "incident 42: key compromise suspected"
	f, frec := Freeze(t, s, id, reason, Base.Add(time.Second))
	if f.ID != id || f.Reason != reason || f.By != "alice" || !f.Active() || f.Seq != frec.Seq || f.Seq != before.Seq+1 {
		t.Errorf("Freeze returned %+v (chain row seq %d), want active freeze %s by alice at seq %d", f, frec.Seq, id, before.Seq+1)
	}
	row, err := s.Get(ctx, "operator:freeze:"+id)
	if err != nil {
		t.Fatalf("the freeze's chain row: %v", err)
	}
	if row.Type != "FREEZE" || row.Action != store.ActionReject || row.Rule != "operator:freeze" || row.Version != "operator" ||
		!strings.Contains(row.Reason, reason) || !strings.Contains(string(row.Request), id) {
		t.Errorf("freeze chain row = %+v", row)
	}
	if ids := activeIDs(t, s); len(ids) != 1 || ids[0] != id {
		t.Errorf("ActiveFreezes = %v, want [%s]", ids, id)
	}

	cases := []struct {
		name       string
		typ        string
		action     string
		wantAction string
		wantRule   string
	}{
		{"keysign approve", "KEYSIGN", store.ActionApprove, store.ActionReject, "builtin:frozen"},
		{"keygen approve", "KEYGEN", store.ActionApprove, store.ActionReject, "builtin:frozen"},
		{"keyreshare approve", "KEYRESHARE", store.ActionApprove, store.ActionReject, "builtin:frozen"},
		{"ping approve", "PING", store.ActionApprove, store.ActionApprove, "allow-small"},
		{"keysign reject", "KEYSIGN", store.ActionReject, store.ActionReject, "allow-small"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := NewRecord("frozen-" + strings.ReplaceAll(tc.name, " ", "-"))
			rec.Type, rec.Action = tc.typ, tc.action
			got := Commit(t, s, rec, limitUse("10"))
			if got.Action != tc.wantAction || got.Rule != tc.wantRule {
				t.Errorf("%s by %q (%s), want %s by %q", got.Action, got.Rule, got.Reason, tc.wantAction, tc.wantRule)
			}
			if tc.wantRule == "builtin:frozen" {
				checkFrozen(t, tc.name, got, id, reason)
			}
		})
	}
	// Only the PING consumed limit usage (a PING carries none in practice,
	// but the store counts what an APPROVE hands it): 10 before the freeze
	// and 10 for the PING.
	if u := usage(t, s, Base, dailyWindows); len(u) != 1 || u[0].Count != 2 || u[0].Amount.Cmp(dec("20")) != 0 {
		t.Errorf("usage during the freeze = %+v, want 20 in 2 entries (before the freeze, the PING)", u)
	}
	// A retry of an approval recorded before the freeze is the record, as
	// always: the store does not rewrite history (the gate refuses to
	// re-sign it while frozen).
	got, existed, err := s.Commit(ctx, NewRecord("before"), []store.LimitUse{limitUse("10")})
	if err != nil || !existed || got.Action != store.ActionApprove {
		t.Errorf("retry during the freeze = %+v, existed %v, %v; want the recorded APPROVE", got, existed, err)
	}

	lf, lrec := Unfreeze(t, s, id, []string{"carol", "dave"}, Base.Add(time.Minute))
	if lf.Active() || lf.LiftedBy != "bob" || lf.LiftSeq != lrec.Seq || strings.Join(lf.Signers, ",") != "carol,dave" {
		t.Errorf("Unfreeze returned %+v", lf)
	}
	if lrec.Type != "UNFREEZE" || lrec.Action != store.ActionReject || lrec.Rule != "operator:unfreeze" || !strings.Contains(lrec.Reason, "carol") {
		t.Errorf("unfreeze chain row = %+v", lrec)
	}
	stored, err := s.GetFreeze(ctx, id)
	if err != nil {
		t.Fatalf("GetFreeze: %v", err)
	}
	if stored.Active() || stored.LiftSeq != lrec.Seq || strings.Join(stored.Signers, ",") != "carol,dave" || stored.Seq != f.Seq || stored.Reason != reason {
		t.Errorf("GetFreeze after the lift = %+v", stored)
	}
	if ids := activeIDs(t, s); len(ids) != 0 {
		t.Errorf("ActiveFreezes after the lift = %v", ids)
	}
	after := Commit(t, s, NewRecord("after"), limitUse("10"))
	if after.Action != store.ActionApprove {
		t.Errorf("after the lift: %s by %s (%s), want APPROVE", after.Action, after.Rule, after.Reason)
	}
	if u := usage(t, s, Base, dailyWindows); len(u) != 1 || u[0].Count != 3 {
		t.Errorf("usage after the lift = %+v, want 3 entries", u)
	}

	_, _, err = s.Unfreeze(ctx, store.UnfreezeRecord(id, "bob", nil, Base.Add(2*time.Minute)), id, nil)
	if !errors.Is(err, store.ErrLifted) {
		t.Errorf("lifting a lifted freeze: %v, want ErrLifted", err)
	}
	_, _, err = s.Unfreeze(ctx, store.UnfreezeRecord("fedcba9876543210", "bob", nil, Base), "fedcba9876543210", nil)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("lifting an unknown freeze: %v, want ErrNotFound", err)
	}
	if _, err := s.GetFreeze(ctx, "fedcba9876543210"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetFreeze of an unknown freeze: %v, want ErrNotFound", err)
	}
	// 1 before, freeze, 5 cases, unfreeze, after: the refused lifts wrote
	// nothing.
	if rep := verify(t, s); rep.Break != nil || rep.Rows != 9 {
		t.Errorf("Verify = rows %d, break %+v; want 9 intact rows", rep.Rows, rep.Break)
	}
}

func testFreezeInvalid(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := context.Background()
	good := store.Freeze{ID: "00000000000000aa", Reason: "drill", By: "alice"}
	cases := []struct {
		name string
		f    store.Freeze
		rec  func(store.Freeze) store.Record
	}{
		{"short id", store.Freeze{ID: "abc", Reason: "r", By: "a"}, nil},
		{"upper-case id", store.Freeze{ID: "00000000000000AA", Reason: "r", By: "a"}, nil},
		{"empty reason", store.Freeze{ID: "00000000000000ab", Reason: "  ", By: "a"}, nil},
		{"empty operator", store.Freeze{ID: "00000000000000ac", Reason: "r", By: ""}, nil},
		{"NUL in reason", store.Freeze{ID: "00000000000000ad", Reason: "a\x00b", By: "a"}, nil},
		{"huge reason", store.Freeze{ID: "00000000000000ae", Reason: strings.Repeat("x", store.MaxFreezeReason+1), By: "a"}, nil},
		{"approving chain row", good, func(f store.Freeze) store.Record {
			r := store.FreezeRecord(f, Base)
			r.Action = store.ActionApprove
			return r
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := store.FreezeRecord(tc.f, Base)
			if tc.rec != nil {
				rec = tc.rec(tc.f)
			}
			if _, _, err := s.Freeze(ctx, rec, tc.f); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("Freeze: %v, want ErrInvalid", err)
			}
		})
	}
	if ids := activeIDs(t, s); len(ids) != 0 || count(t, s) != 0 {
		t.Fatalf("refused freezes left %v and %d rows", ids, count(t, s))
	}
	Freeze(t, s, good.ID, good.Reason, Base)
	if _, _, err := s.Freeze(ctx, store.FreezeRecord(good, Base.Add(time.Second)), good); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second freeze with the same id: %v, want ErrConflict", err)
	}
	if n := count(t, s); n != 1 {
		t.Errorf("rows = %d, want 1", n)
	}
}

func testLiftSignatures(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := context.Background()
	const id = "1111111111111111"
	if err := s.AddLiftSignature(ctx, id, "alice", "sig"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a signature for an unknown freeze: %v, want ErrNotFound", err)
	}
	Freeze(t, s, id, "drill", Base)
	for _, tc := range []struct{ name, approver, sig string }{
		{"empty approver", "", "sig"},
		{"empty signature", "alice", " "},
		{"NUL", "alice", "a\x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.AddLiftSignature(ctx, id, tc.approver, tc.sig); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("AddLiftSignature: %v, want ErrInvalid", err)
			}
		})
	}
	for _, a := range []struct{ who, sig string }{{"bob", "sig-b1"}, {"alice", "sig-a"}, {"bob", "sig-b2"}} {
		if err := s.AddLiftSignature(ctx, id, a.who, a.sig); err != nil {
			t.Fatalf("AddLiftSignature(%s): %v", a.who, err)
		}
	}
	sigs, err := s.LiftSignatures(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ls := range sigs {
		if ls.FreezeID != id || ls.At.IsZero() {
			t.Errorf("signature %+v", ls)
		}
		got = append(got, ls.Approver+"="+ls.Signature)
	}
	if strings.Join(got, " ") != "alice=sig-a bob=sig-b2" {
		t.Errorf("LiftSignatures = %v, want alice's and bob's latest", got)
	}
	if other, err := s.LiftSignatures(ctx, "2222222222222222"); err != nil || len(other) != 0 {
		t.Errorf("signatures of another freeze = %v, %v", other, err)
	}
	Unfreeze(t, s, id, []string{"alice", "bob"}, Base.Add(time.Minute))
	if err := s.AddLiftSignature(ctx, id, "carol", "sig-c"); !errors.Is(err, store.ErrLifted) {
		t.Errorf("a signature for a lifted freeze: %v, want ErrLifted", err)
	}
}

// testFreezeConcurrent freezes while commits race: the chain orders every
// decision against the freeze, and every APPROVE after the freeze's row
// must have been stored as a REJECT, every one before it not.
func testFreezeConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	FreezeRace(t, open(t))
}

// FreezeRace commits approvals concurrently through stores (one or
// several handles on one database, round-robin over the workers) while a
// freeze is recorded through the first, and fails unless every approval
// ordered after the freeze's chain row is a builtin:frozen REJECT and every
// one before it an APPROVE, with usage written for exactly the approvals.
// Each worker commits until it sees the freeze, so the freeze always lands
// in the middle of the traffic. The stores must be empty.
func FreezeRace(t *testing.T, stores ...store.Store) {
	t.Helper()
	const workers = 8
	// Each worker commits until it sees the freeze; the deadline only
	// bounds a broken store that never shows it.
	deadline := time.Now().Add(30 * time.Second)
	const id, reason = "abababababababab", "race drill"
	use := store.LimitUse{Limit: "race", Key: "k", Window: time.Hour, Amount: dec("1"), MaxAmount: decPtr("1000000")}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var results []*store.Record
	var errs []error
	var committed sync.WaitGroup
	committed.Add(workers)
	for w := range workers {
		s := stores[w%len(stores)]
		wg.Go(func() {
			signalled := false
			for i := 0; time.Now().Before(deadline); i++ {
				got, _, err := s.Commit(context.Background(), NewRecord(fmt.Sprintf("racer-%d-%05d", w, i)), []store.LimitUse{use})
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					results = append(results, got)
				}
				mu.Unlock()
				if !signalled && i == 2 {
					committed.Done()
					signalled = true
				}
				if err != nil || got.Rule == "builtin:frozen" {
					break
				}
			}
			if !signalled {
				committed.Done()
			}
		})
	}
	committed.Wait() // every worker has committed a few: the freeze lands mid-traffic
	_, frec := Freeze(t, stores[0], id, reason, Base)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d commits failed, first: %v", len(errs), errs[0])
	}
	approved, frozen := 0, 0
	for _, r := range results {
		if r.Seq < frec.Seq {
			if r.Action != store.ActionApprove {
				t.Errorf("seq %d, before the freeze (seq %d): %s by %s", r.Seq, frec.Seq, r.Action, r.Rule)
			}
			approved++
			continue
		}
		checkFrozen(t, fmt.Sprintf("seq %d, after the freeze (seq %d)", r.Seq, frec.Seq), r, id, reason)
		frozen++
	}
	if approved < workers || frozen < workers {
		t.Errorf("%d approvals before the freeze and %d frozen after; want at least %d of each", approved, frozen, workers)
	}
	u := usage(t, stores[0], Base, map[string]time.Duration{"race": time.Hour})
	if len(u) != 1 || u[0].Count != int64(approved) {
		t.Errorf("usage = %+v, want %d entries (the approvals before the freeze)", u, approved)
	}
	if rep := verify(t, stores[0]); rep.Break != nil || rep.Rows != int64(len(results)+1) {
		t.Errorf("Verify = rows %d, break %+v; want %d intact rows", rep.Rows, rep.Break, len(results)+1)
	}
}

// FreezeReplicas checks that a freeze recorded through one store is seen
// by the next Commit of another on the same database, and that a lift
// through the other is seen by the first: no cache anywhere.
func FreezeReplicas(t *testing.T, s1, s2 store.Store) {
	t.Helper()
	if got := Commit(t, s2, NewRecord("r2-before")); got.Action != store.ActionApprove {
		t.Fatalf("replica 2 before the freeze: %s (%s)", got.Action, got.Reason)
	}
	const id, reason = "cdcdcdcdcdcdcdcd", "replica drill"
	Freeze(t, s1, id, reason, Base)
	checkFrozen(t, "replica 2's next commit", Commit(t, s2, NewRecord("r2-frozen")), id, reason)
	checkFrozen(t, "replica 1's next commit", Commit(t, s1, NewRecord("r1-frozen")), id, reason)
	if ids := activeIDs(t, s2); len(ids) != 1 || ids[0] != id {
		t.Errorf("replica 2's ActiveFreezes = %v", ids)
	}
	Unfreeze(t, s2, id, nil, Base.Add(time.Minute))
	if got := Commit(t, s1, NewRecord("r1-after")); got.Action != store.ActionApprove {
		t.Errorf("replica 1 after replica 2 lifted: %s by %s (%s)", got.Action, got.Rule, got.Reason)
	}
}

// testFreezeSeveral: several freezes may be active; signing stays frozen
// until the last is lifted, and the reason names the oldest.
func testFreezeSeveral(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	Freeze(t, s, "aaaaaaaaaaaaaaa1", "first", Base)
	Freeze(t, s, "aaaaaaaaaaaaaaa2", "second", Base.Add(time.Second))
	got := Commit(t, s, NewRecord("two"))
	checkFrozen(t, "two freezes", got, "aaaaaaaaaaaaaaa1", "first")
	if !strings.Contains(got.Reason, "1 more") {
		t.Errorf("reason %q does not say another freeze is active", got.Reason)
	}
	if ids := activeIDs(t, s); strings.Join(ids, ",") != "aaaaaaaaaaaaaaa1,aaaaaaaaaaaaaaa2" {
		t.Errorf("ActiveFreezes = %v, want oldest first", ids)
	}
	Unfreeze(t, s, "aaaaaaaaaaaaaaa1", nil, Base.Add(time.Minute))
	checkFrozen(t, "one freeze left", Commit(t, s, NewRecord("one")), "aaaaaaaaaaaaaaa2", "second")
	Unfreeze(t, s, "aaaaaaaaaaaaaaa2", nil, Base.Add(time.Minute))
	if got := Commit(t, s, NewRecord("none")); got.Action != store.ActionApprove {
		t.Errorf("after both lifts: %s by %s", got.Action, got.Rule)
	}
}
