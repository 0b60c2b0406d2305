package postgres

import (
	"context"
	"testing"

	"tssgate/internal/store"
	"tssgate/internal/store/storetest"
)

func TestAttack3Conformance(t *testing.T) {
	storetest.Attack3(t, func(t *testing.T) store.Store {
		s, _ := openTest(t)
		return testStore{s}
	})
}

// TestAttack3ReplicasSkewRace: three replicas with skewed clocks race one
// key's headroom.
func TestAttack3ReplicasSkewRace(t *testing.T) {
	s1, dsn := openTest(t)
	stores := []store.Store{s1}
	for range 2 {
		s, err := Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	storetest.Attack3Skew(t, stores...)
}
