package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"tssgate/internal/store"
)

// The freezes and governance tables are what serve enforces (Commit reads
// the active freezes, the policy gate the governance in force), and the
// hash chain is what an anchored head protects. A database writer who
// edits a table alone (lifting a freeze without an UNFREEZE row or a
// quorum, emptying or replacing the governance in force) leaves the
// chain intact; these checks compare the tables with what the chain's
// FREEZE/UNFREEZE and GOVERNANCE rows say, so that audit verify reports
// such an edit as a break, and serve refuses the governance edits.

// Chain rules of the operator rows the checks read.
const (
	ruleFreeze   = "operator:freeze"
	ruleUnfreeze = "operator:unfreeze"
)

// freezeTableMismatches returns one line per difference between the
// active freezes of the freezes table and those the chain's FREEZE rows
// record and no UNFREEZE row lifts (by id, with the FREEZE row's seq and
// reason); empty when they agree. The error is for failing to read.
func freezeTableMismatches(ctx context.Context, st store.Store) ([]string, error) {
	type chainFreeze struct {
		seq    int64
		reason string
		lifted int64 // the UNFREEZE row's seq, 0 while active
	}
	var row struct {
		ID     string `json:"freeze_id"`
		Reason string `json:"reason"`
	}
	chain := map[string]*chainFreeze{}
	var order []string
	var problems []string
	err := st.List(ctx, store.Filter{Type: "FREEZE", Rule: ruleFreeze}, func(r *store.Record) error {
		row.ID, row.Reason = "", ""
		if err := json.Unmarshal(r.Request, &row); err != nil || row.ID == "" {
			problems = append(problems, fmt.Sprintf("FREEZE row seq %d does not name a freeze id", r.Seq))
			return nil
		}
		if _, dup := chain[row.ID]; dup {
			problems = append(problems, fmt.Sprintf("freeze %s is recorded by two FREEZE rows (seq %d and %d)", row.ID, chain[row.ID].seq, r.Seq))
			return nil
		}
		chain[row.ID] = &chainFreeze{seq: r.Seq, reason: row.Reason}
		order = append(order, row.ID)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the FREEZE rows: %w", err)
	}
	err = st.List(ctx, store.Filter{Type: "UNFREEZE", Rule: ruleUnfreeze}, func(r *store.Record) error {
		row.ID = ""
		if err := json.Unmarshal(r.Request, &row); err != nil || row.ID == "" {
			problems = append(problems, fmt.Sprintf("UNFREEZE row seq %d does not name a freeze id", r.Seq))
			return nil
		}
		f, ok := chain[row.ID]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("UNFREEZE row seq %d lifts freeze %s, which no earlier FREEZE row records", r.Seq, row.ID))
		case f.seq > r.Seq:
			problems = append(problems, fmt.Sprintf("UNFREEZE row seq %d lifts freeze %s before its FREEZE row seq %d", r.Seq, row.ID, f.seq))
		case f.lifted != 0:
			problems = append(problems, fmt.Sprintf("freeze %s is lifted by two UNFREEZE rows (seq %d and %d)", row.ID, f.lifted, r.Seq))
		default:
			f.lifted = r.Seq
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the UNFREEZE rows: %w", err)
	}
	active, err := st.ActiveFreezes(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the active freezes: %w", err)
	}
	inTable := map[string]bool{}
	for _, a := range active {
		inTable[a.ID] = true
		f, ok := chain[a.ID]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("freeze %s is active in the freezes table, and no FREEZE row records it", a.ID))
		case f.lifted != 0:
			problems = append(problems, fmt.Sprintf("freeze %s is active in the freezes table, and UNFREEZE row seq %d lifted it", a.ID, f.lifted))
		case a.Seq != f.seq || a.Reason != f.reason:
			problems = append(problems, fmt.Sprintf("freeze %s in the freezes table (seq %d, reason %q) differs from its FREEZE row (seq %d, reason %q)", a.ID, a.Seq, a.Reason, f.seq, f.reason))
		}
	}
	for _, id := range order {
		if f := chain[id]; f.lifted == 0 && !inTable[id] {
			problems = append(problems, fmt.Sprintf("freeze %s is active by the chain (FREEZE row seq %d, no UNFREEZE row) but not in the freezes table: lifted without a recorded lift", id, f.seq))
		}
	}
	return problems, nil
}

// governanceTableMismatch describes how the governance in force (the
// governance table) differs from the newest GOVERNANCE row of the chain,
// "" when they agree (both empty, or the same SHA-256 and seq). The error
// is for failing to read.
func governanceTableMismatch(ctx context.Context, st store.Store) (string, error) {
	var newest *store.Record
	err := st.List(ctx, store.Filter{Type: "GOVERNANCE", Rule: ruleGovernance, Newest: true, Limit: 1}, func(r *store.Record) error {
		newest = r
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("reading the GOVERNANCE rows: %w", err)
	}
	cur, err := st.Governance(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
		cur = nil
	case err != nil:
		return "", fmt.Errorf("reading the governance in force: %w", err)
	}
	switch {
	case newest == nil && cur == nil:
		return "", nil
	case newest == nil:
		return fmt.Sprintf("the governance table holds sha256 %s (seq %d), and no GOVERNANCE row records any adoption", cur.SHA256, cur.Seq), nil
	}
	var row struct {
		SHA256 string `json:"governance_sha256"`
	}
	if json.Unmarshal(newest.Request, &row) != nil || row.SHA256 == "" {
		return fmt.Sprintf("GOVERNANCE row seq %d does not name a governance sha256", newest.Seq), nil
	}
	switch {
	case cur == nil:
		return fmt.Sprintf("the governance table is empty, and GOVERNANCE row seq %d adopted sha256 %s (trust on first use would adopt any file again)", newest.Seq, row.SHA256), nil
	case cur.SHA256 != row.SHA256 || cur.Seq != newest.Seq:
		return fmt.Sprintf("the governance table holds sha256 %s (seq %d), and the newest GOVERNANCE row seq %d adopted sha256 %s", cur.SHA256, cur.Seq, newest.Seq, row.SHA256), nil
	}
	return "", nil
}

// stateMismatches is every table mismatch, freezes first.
func stateMismatches(ctx context.Context, st store.Store) ([]string, error) {
	problems, err := freezeTableMismatches(ctx, st)
	if err != nil {
		return nil, err
	}
	g, err := governanceTableMismatch(ctx, st)
	if err != nil {
		return nil, err
	}
	if g != "" {
		problems = append(problems, g)
	}
	if problems == nil {
		problems = []string{} // JSON [], not null
	}
	return slices.Clip(problems), nil
}

// checkGovernanceTable is serve's start-up check: a governance table that
// does not match the chain's newest GOVERNANCE row (emptied, so trust on
// first use would silently adopt whatever file is configured, or
// replaced) refuses the start. A replica adopting a governance between
// the two reads looks like a mismatch once, so a mismatch is read again
// before it counts.
func checkGovernanceTable(ctx context.Context, st store.Store) error {
	var msg string
	for range 2 {
		var err error
		if msg, err = governanceTableMismatch(ctx, st); err != nil {
			return err
		}
		if msg == "" {
			return nil
		}
	}
	return fmt.Errorf("the decision store's governance table does not match its decision log: %s; the table was edited outside tssgate (or damaged): restore the store from a verified backup ('tssgate audit verify' names the mismatch)", msg)
}
