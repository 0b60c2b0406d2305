// Package chainverify checks the decision log's hash chain one row at a
// time for readers outside the store implementations: `tssgate policy
// replay` checks every row it reads, so that a decision column changed in
// the database (an action, a type) is refused instead of trusted.
//
// It is a thin exported face of the store's own chain verification
// (internal/store/internal/chain), which Store.Verify runs: one
// implementation of the encoding and of the checks, so a row this package
// accepts is a row `tssgate audit verify` accepts, and the other way
// round.
//
// It assumes the rows are given in Seq order from the first (Seq 1): a
// chain can only be checked from its start, since each row's hash covers
// the previous row's. Filtered walks (by time or type) cannot be checked;
// walk the whole log and filter afterwards.
package chainverify

import (
	"tssgate/internal/store"
	"tssgate/internal/store/internal/chain"
)

// Verifier checks a chain streamed to it row by row. The zero value
// expects the chain to start at Seq 1. It is not safe for concurrent use.
type Verifier struct {
	v chain.Verifier
}

// Add checks the next row: its Seq follows the previous row's, its
// PrevHash is the previous row's Hash, its RequestHash is its Request's
// hash and its Hash recomputes from its content. It returns nil while the
// chain is intact, else the first break (and the same break for every
// later row).
func (v *Verifier) Add(r *store.Record) *store.Break {
	if v.v.Add(r) {
		return nil
	}
	return v.v.Report().Break
}

// Report returns the outcome so far, as store.Store.Verify reports it:
// the rows examined, the head hash when intact, the first break.
func (v *Verifier) Report() *store.VerifyReport {
	return v.v.Report()
}
