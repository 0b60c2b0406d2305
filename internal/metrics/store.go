package metrics

import (
	"context"
	"errors"
	"time"

	"tssgate/internal/store"
)

// instrumentedStore is a store.Store that times commits and counts the
// store's failures; every method is forwarded unchanged.
type instrumentedStore struct {
	store.Store
	m *Metrics
}

// WrapStore returns s with its Commit latency and its errors (Commit, Get
// and Probe) observed. Errors that are not the store's fault (a bad
// record, a reused request_id, a record not found, a caller that went
// away) are not counted. A store offering SetBatchObserver (SQLite's group
// commit) also reports each batch's size.
func (m *Metrics) WrapStore(s store.Store) store.Store {
	if b, ok := s.(interface{ SetBatchObserver(func(int)) }); ok {
		b.SetBatchObserver(m.GroupCommit)
	}
	return &instrumentedStore{Store: s, m: m}
}

func (s *instrumentedStore) Commit(ctx context.Context, rec store.Record, uses []store.LimitUse) (*store.Record, bool, error) {
	start := time.Now()
	stored, existed, err := s.Store.Commit(ctx, rec, uses)
	s.m.commitLatency.Observe(time.Since(start).Seconds())
	switch {
	case err == nil, errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrConflict):
	case errors.Is(err, store.ErrOutcomeUnknown):
		s.m.storeErrors.WithLabelValues(OpCommitUnknown).Inc()
	case errors.Is(ctx.Err(), context.Canceled):
	default:
		s.m.storeErrors.WithLabelValues(OpCommit).Inc()
	}
	return stored, existed, err
}

func (s *instrumentedStore) Get(ctx context.Context, id string) (*store.Record, error) {
	rec, err := s.Store.Get(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(ctx.Err(), context.Canceled) {
		s.m.storeErrors.WithLabelValues(OpGet).Inc()
	}
	return rec, err
}

func (s *instrumentedStore) Probe(ctx context.Context) error {
	err := s.Store.Probe(ctx)
	if err != nil {
		s.m.storeErrors.WithLabelValues(OpProbe).Inc()
	}
	return err
}
