package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Defaults for NewMonitor's arguments left zero.
const (
	// DefaultProbeInterval is the least time between two write probes:
	// /readyz may be polled by anyone who can reach it, and must not become
	// a way to load the store.
	DefaultProbeInterval = time.Second
	// DefaultProbeTimeout bounds one write probe. A store that cannot take
	// a small write this fast is not one a decision should wait for.
	DefaultProbeTimeout = time.Second
)

// Monitor is a Store that remembers whether its latest write succeeded, and
// answers readiness from that: "could a decision be recorded right now?". A
// SELECT 1 cannot answer it (a read-only file, a held write lock or a stuck
// commit lock all still read), so Ready runs a real write, Store.Probe, at
// most once per interval, and otherwise reports the latest write outcome,
// of a probe or of a Commit, whichever finished last. One failed write makes
// the store not ready until a later write succeeds.
//
// Every Store method is forwarded; Commit also records its outcome. A
// Commit error that says nothing about the store (ErrInvalid, ErrConflict,
// the caller giving up with context.Canceled) is not counted as a failure.
type Monitor struct {
	Store

	interval, timeout time.Duration
	now               func() time.Time

	probeMu   sync.Mutex // held while a probe runs: one probe at a time
	lastProbe time.Time  // when the latest probe started; under probeMu

	mu   sync.Mutex
	last writeOutcome // the latest write to finish; under mu
}

// writeOutcome is one finished write.
type writeOutcome struct {
	what string // "write probe" or "commit"
	at   time.Time
	err  error
}

var _ Store = (*Monitor)(nil)

// NewMonitor wraps s. interval is the least time between two probes
// (DefaultProbeInterval when zero) and timeout bounds each probe
// (DefaultProbeTimeout when zero).
func NewMonitor(s Store, interval, timeout time.Duration) *Monitor {
	if interval <= 0 {
		interval = DefaultProbeInterval
	}
	if timeout <= 0 {
		timeout = DefaultProbeTimeout
	}
	return &Monitor{Store: s, interval: interval, timeout: timeout, now: time.Now}
}

// Commit forwards to the wrapped Store and records the outcome.
func (m *Monitor) Commit(ctx context.Context, rec Record, uses []LimitUse) (*Record, bool, error) {
	stored, existed, err := m.Store.Commit(ctx, rec, uses)
	switch {
	case err == nil:
		m.note("commit", nil)
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrConflict),
		errors.Is(ctx.Err(), context.Canceled) && !errors.Is(err, ErrOutcomeUnknown):
		// Not the store's fault: a bad record, a reused request_id, or a
		// caller that went away.
	default:
		m.note("commit", err)
	}
	return stored, existed, err
}

func (m *Monitor) note(what string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last = writeOutcome{what: what, at: m.now(), err: err}
}

// Ready reports nil when the latest write succeeded, running a fresh probe
// first when the previous one started at least an interval ago. Concurrent
// callers share one probe. The error names what failed, how long ago, and
// why.
func (m *Monitor) Ready() error {
	m.probeMu.Lock()
	if start := m.now(); m.lastProbe.IsZero() || start.Sub(m.lastProbe) >= m.interval {
		m.lastProbe = start
		ctx, cancel := context.WithTimeout(context.Background(), m.timeout)
		err := m.Store.Probe(ctx)
		cancel()
		m.note("write probe", err)
	}
	m.probeMu.Unlock()

	m.mu.Lock()
	last := m.last
	m.mu.Unlock()
	if last.err != nil {
		return fmt.Errorf("decisions cannot be recorded: the latest %s (%s ago) failed: %w",
			last.what, m.now().Sub(last.at).Round(time.Millisecond), last.err)
	}
	return nil
}
