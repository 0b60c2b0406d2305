package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fakeStore is a Store whose Probe and Commit results the test sets; the
// other methods are never called here.
type fakeStore struct {
	Store
	probeErr  error
	commitErr error
	probes    int
}

func (f *fakeStore) Probe(ctx context.Context) error {
	f.probes++
	return f.probeErr
}

func (f *fakeStore) Commit(ctx context.Context, rec Record, uses []LimitUse) (*Record, bool, error) {
	if f.commitErr != nil {
		return nil, false, f.commitErr
	}
	return &rec, false, nil
}

// TestMonitor walks one store through failures and recoveries: the
// readiness answer follows the latest write, probes are rate-limited, and
// only store failures count.
func TestMonitor(t *testing.T) {
	f := &fakeStore{}
	m := NewMonitor(f, time.Second, time.Second)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m.now = func() time.Time { return now }
	down := errors.New("disk is read-only")

	steps := []struct {
		name       string
		advance    time.Duration
		probeErr   error
		commitErr  error // when commit is set
		commit     bool
		ctx        func() context.Context
		wantReady  bool
		wantProbes int
		wantMsg    string
	}{
		{name: "healthy: first call probes", wantReady: true, wantProbes: 1},
		{name: "within the interval: cached", advance: 500 * time.Millisecond, probeErr: down, wantReady: true, wantProbes: 1},
		{name: "interval passed: probe fails", advance: 500 * time.Millisecond, probeErr: down, wantProbes: 2, wantMsg: "latest write probe (0s ago) failed: disk is read-only"},
		{name: "still failing, cached", advance: 10 * time.Millisecond, wantProbes: 2, wantMsg: "write probe (10ms ago)"},
		{name: "a commit succeeds: a write works", commit: true, wantReady: true, wantProbes: 2},
		{name: "a commit fails", commit: true, commitErr: fmt.Errorf("postgres: %w", down), wantProbes: 2, wantMsg: "latest commit (0s ago) failed"},
		{name: "a later probe in the interval does not run", advance: 500 * time.Millisecond, wantProbes: 2, wantMsg: "latest commit (500ms ago) failed"},
		{name: "probe passes again", advance: 500 * time.Millisecond, wantReady: true, wantProbes: 3},
		{name: "conflict is not a store failure", commit: true, commitErr: fmt.Errorf("x: %w", ErrConflict), wantReady: true, wantProbes: 3},
		{name: "invalid is not a store failure", commit: true, commitErr: fmt.Errorf("x: %w", ErrInvalid), wantReady: true, wantProbes: 3},
		{name: "a caller that went away is not a store failure", commit: true, commitErr: context.Canceled, ctx: canceled, wantReady: true, wantProbes: 3},
		{name: "an unknown outcome counts even for a canceled caller", commit: true, commitErr: fmt.Errorf("x: %w", ErrOutcomeUnknown), ctx: canceled, wantProbes: 3, wantMsg: "commit outcome unknown"},
		{name: "a deadline is a store failure", advance: time.Second, probeErr: context.DeadlineExceeded, wantProbes: 4, wantMsg: "deadline exceeded"},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		f.probeErr, f.commitErr = st.probeErr, st.commitErr
		if st.commit {
			ctx := context.Background()
			if st.ctx != nil {
				ctx = st.ctx()
			}
			m.Commit(ctx, Record{}, nil)
		}
		err := m.Ready()
		if (err == nil) != st.wantReady {
			t.Fatalf("%s: Ready() = %v, want ready: %v", st.name, err, st.wantReady)
		}
		if err != nil && !strings.Contains(err.Error(), st.wantMsg) {
			t.Errorf("%s: Ready() = %v, want it to contain %q", st.name, err, st.wantMsg)
		}
		if f.probes != st.wantProbes {
			t.Errorf("%s: %d probes so far, want %d", st.name, f.probes, st.wantProbes)
		}
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
