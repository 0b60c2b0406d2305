package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"tssgate/internal/decimal"
	"tssgate/internal/store"
)

// outpoint returns a valid outpoint with txid digit d.
func outpoint(d byte, vout int) string {
	return strings.Repeat(string(d), 64) + fmt.Sprintf(":%d", vout)
}

func claim(op, amount, req string) store.OutpointClaim {
	return store.OutpointClaim{Outpoint: op, Amount: decimal.MustParse(amount), RequestID: req, At: Base}
}

// testOutpointClaims: the first claim stands; the same amount again
// passes (in any spelling); another amount conflicts, naming the first
// claim, and records nothing of its call; clearing lets the next claim
// stand; malformed claims are refused.
func testOutpointClaims(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := context.Background()
	a, b, c := outpoint('a', 0), outpoint('b', 1), outpoint('c', 4294967295)
	mustClaim := func(claims ...store.OutpointClaim) []store.OutpointConflict {
		t.Helper()
		conf, err := s.ClaimOutpoints(ctx, claims)
		if err != nil {
			t.Fatalf("ClaimOutpoints: %v", err)
		}
		return conf
	}
	if conf := mustClaim(claim(a, "0.5", "r1"), claim(b, "0.25", "r1")); len(conf) != 0 {
		t.Fatalf("first claims conflict: %+v", conf)
	}
	if conf := mustClaim(claim(a, "0.50000000", "r2"), claim(b, "0.25", "r2")); len(conf) != 0 {
		t.Fatalf("the same amounts again conflict: %+v", conf)
	}
	conf := mustClaim(claim(c, "1", "r3"), claim(a, "0.6", "r3"))
	if len(conf) != 1 || conf[0].Claim.Outpoint != a || conf[0].First.RequestID != "r1" || conf[0].First.Amount.Cmp(decimal.MustParse("0.5")) != 0 || conf[0].Claim.Amount.String() != "0.6" {
		t.Fatalf("conflict %+v", conf)
	}
	if want := Base.Truncate(time.Microsecond); !conf[0].First.At.Equal(want) || conf[0].First.At.Location() != time.UTC {
		t.Errorf("first claim time %v, want %v in UTC", conf[0].First.At, want)
	}
	// Nothing of the conflicting call was recorded: c is still free.
	if _, err := s.ClearOutpoint(ctx, c); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ClearOutpoint(c) after a refused call: %v, want ErrNotFound", err)
	}
	// The true amount, claimed second, is refused too until cleared.
	got, err := s.ClearOutpoint(ctx, a)
	if err != nil || got.RequestID != "r1" || got.Outpoint != a {
		t.Fatalf("ClearOutpoint(a) = %+v, %v", got, err)
	}
	if conf := mustClaim(claim(a, "0.6", "r4")); len(conf) != 0 {
		t.Fatalf("claim after clearing conflicts: %+v", conf)
	}
	if conf := mustClaim(claim(a, "0.5", "r5")); len(conf) != 1 || conf[0].First.RequestID != "r4" {
		t.Fatalf("the cleared amount claimed again: %+v", conf)
	}
	for _, bad := range []store.OutpointClaim{
		claim(strings.Repeat("A", 64)+":0", "1", "r"),
		claim(strings.Repeat("a", 63)+":0", "1", "r"),
		claim(strings.Repeat("a", 64)+":01", "1", "r"),
		claim(strings.Repeat("a", 64)+":4294967296", "1", "r"),
		claim(strings.Repeat("a", 64), "1", "r"),
		claim(outpoint('d', 0), "-1", "r"),
		claim(outpoint('d', 0), "1", ""),
		{Outpoint: outpoint('d', 0), Amount: decimal.MustParse("1"), RequestID: "r"},
	} {
		if _, err := s.ClaimOutpoints(ctx, []store.OutpointClaim{bad}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("claim %+v: %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := s.ClaimOutpoints(ctx, []store.OutpointClaim{claim(b, "0.25", "r"), claim(b, "0.25", "r")}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("one outpoint twice in a call: %v, want ErrInvalid", err)
	}
	if _, err := s.ClearOutpoint(ctx, "nope"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("ClearOutpoint(nope): %v, want ErrInvalid", err)
	}
}

// testOutpointClaimsConcurrent races claims with different amounts for
// one outpoint: exactly one amount stands, and every caller whose amount
// differs from it sees the conflict.
func testOutpointClaimsConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := context.Background()
	op := outpoint('e', 7)
	const n = 8
	results := make([][]store.OutpointConflict, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = s.ClaimOutpoints(ctx, []store.OutpointClaim{claim(op, fmt.Sprintf("0.%d", i+1), fmt.Sprintf("r%d", i))})
		}()
	}
	wg.Wait()
	winners := 0
	var first string
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("claim %d: %v", i, errs[i])
		}
		if len(results[i]) == 0 {
			winners++
			first = fmt.Sprintf("r%d", i)
		}
	}
	if winners != 1 {
		t.Fatalf("%d claims with different amounts all stood", winners)
	}
	for i := range n {
		if len(results[i]) == 1 && results[i][0].First.RequestID != first {
			t.Errorf("claim %d conflicts with %s, the standing claim is %s", i, results[i][0].First.RequestID, first)
		}
	}
}
