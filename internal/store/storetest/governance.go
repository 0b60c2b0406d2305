package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"tssgate/internal/store"
)

// governanceRecord is the chain row of an adoption, as serve writes one.
func governanceRecord(id string) store.Record {
	return store.Record{
		RequestID: id, Version: "operator", Type: "GOVERNANCE", NodeKey: "operator:serve", ReceivedAt: Base,
		Request: []byte(fmt.Sprintf(`{"operator_action":"governance","id":%q}`, id)),
		Action:  store.ActionReject, Rule: "operator:governance", Reason: "governance adopted", PolicyVersion: "operator",
	}
}

func governanceState(content string) store.GovernanceState {
	return store.GovernanceState{SHA256: store.RequestHashOf([]byte(content)), Content: []byte(content)}
}

// testGovernance: none in force at first; adoption is a compare-and-set
// that records its chain row; a stale prev changes nothing; bad input is
// refused; the chain stays intact.
func testGovernance(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	s := open(t)
	if _, err := s.Governance(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Governance on a new store: got %v, want ErrNotFound", err)
	}
	Commit(t, s, NewRecord("before"))
	g1 := governanceState("threshold: 1\n")
	rec, err := s.AdoptGovernance(ctx, "", g1, governanceRecord("gov-1"))
	if err != nil {
		t.Fatalf("first adoption: %v", err)
	}
	if rec.Seq != 2 || rec.Hash == "" || rec.Rule != "operator:governance" {
		t.Fatalf("adoption row: %+v", rec)
	}
	got, err := s.Governance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.SHA256 != g1.SHA256 || string(got.Content) != string(g1.Content) || got.Seq != 2 || !got.AdoptedAt.Equal(rec.ReceivedAt) {
		t.Fatalf("Governance: got %+v, want %s at seq 2", got, g1.SHA256)
	}
	g2 := governanceState("threshold: 2\n")
	tests := []struct {
		name string
		prev string
		g    store.GovernanceState
		rec  store.Record
		want error
	}{
		{"stale prev (none)", "", g2, governanceRecord("gov-x1"), store.ErrGovernanceChanged},
		{"stale prev (other)", g2.SHA256, g2, governanceRecord("gov-x2"), store.ErrGovernanceChanged},
		{"hash not of content", g1.SHA256, store.GovernanceState{SHA256: g1.SHA256, Content: []byte("other")}, governanceRecord("gov-x3"), store.ErrInvalid},
		{"empty content", g1.SHA256, store.GovernanceState{SHA256: store.RequestHashOf(nil)}, governanceRecord("gov-x4"), store.ErrInvalid},
		{"approve record", g1.SHA256, g2, func() store.Record { r := governanceRecord("gov-x5"); r.Action = store.ActionApprove; return r }(), store.ErrInvalid},
		{"request_id taken", g1.SHA256, g2, governanceRecord("before"), store.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.AdoptGovernance(ctx, tt.prev, tt.g, tt.rec); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if got, err := s.Governance(ctx); err != nil || got.SHA256 != g1.SHA256 {
				t.Fatalf("a refused adoption changed the governance in force: %+v, %v", got, err)
			}
			if _, err := s.Get(ctx, tt.rec.RequestID); tt.rec.RequestID != "before" && !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a refused adoption left its chain row: %v", err)
			}
		})
	}
	rec2, err := s.AdoptGovernance(ctx, g1.SHA256, g2, governanceRecord("gov-2"))
	if err != nil {
		t.Fatalf("change: %v", err)
	}
	if got, err := s.Governance(ctx); err != nil || got.SHA256 != g2.SHA256 || got.Seq != rec2.Seq {
		t.Fatalf("after the change: %+v, %v", got, err)
	}
	rep, err := s.Verify(ctx)
	if err != nil || rep.Break != nil || rep.Rows != 3 {
		t.Fatalf("chain after adoptions: %+v, %v", rep, err)
	}
}

// testGovernanceConcurrent: two adoptions from the same governance race;
// exactly one wins, and commits around them keep the chain intact.
func testGovernanceConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	s := open(t)
	g0 := governanceState("g0\n")
	if _, err := s.AdoptGovernance(ctx, "", g0, governanceRecord("g0")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.AdoptGovernance(ctx, g0.SHA256, governanceState(fmt.Sprintf("g%d\n", i+1)), governanceRecord(fmt.Sprintf("race-%d", i)))
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := s.Commit(ctx, NewRecord(fmt.Sprintf("d-%d", i)), nil); err != nil {
				t.Errorf("commit: %v", err)
			}
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrGovernanceChanged):
			t.Errorf("adoption: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d adoptions from the same governance succeeded, want 1", won)
	}
	if rep, err := s.Verify(ctx); err != nil || rep.Break != nil || rep.Rows != 1+1+8 {
		t.Fatalf("chain: %+v, %v", rep, err)
	}
}
