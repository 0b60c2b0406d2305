package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tssgate/internal/decimal"
	"tssgate/internal/store"
	"tssgate/internal/store/backend"
)

// TestAuditClearOutpoint: clearing is recorded in the decision log before
// the claim goes, the chain stays intact, a missing claim is reported,
// and bad arguments change nothing.
func TestAuditClearOutpoint(t *testing.T) {
	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "tssgate.db")
	ctx := context.Background()
	op := strings.Repeat("ab", 32) + ":3"
	st, err := backend.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if conf, err := st.ClaimOutpoints(ctx, []store.OutpointClaim{{Outpoint: op, Amount: decimal.MustParse("0.5"), RequestID: "k1", At: time.Now()}}); err != nil || len(conf) != 0 {
		t.Fatalf("claim: %v %v", conf, err)
	}
	st.Close()

	for _, bad := range [][]string{
		{"audit", "clear-outpoint", "--store", dsn, op},                                   // no reason
		{"audit", "clear-outpoint", "--store", dsn, "--reason", "r"},                      // no outpoint
		{"audit", "clear-outpoint", "--store", dsn, "--reason", "r", op, op},              // two
		{"audit", "clear-outpoint", "--store", dsn, "--reason", "r", strings.ToUpper(op)}, // not canonical
	} {
		if code, _, _ := runCmd(t, bad...); code == 0 {
			t.Errorf("%q: exit 0", bad)
		}
	}
	code, out, errOut := runCmd(t, "audit", "clear-outpoint", "--store", dsn, "--reason", "ticket 42: wrong first claim", op)
	if code != 0 || !strings.Contains(out, "cleared "+op) || !strings.Contains(out, "by request k1") {
		t.Fatalf("clear: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCmd(t, "audit", "clear-outpoint", "--store", dsn, "--reason", "again", op)
	if code != 0 || !strings.Contains(out, "no claim was recorded") {
		t.Fatalf("second clear: exit %d %s", code, out)
	}

	st, err = backend.OpenReadOnly(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var recs []*store.Record
	if err := st.List(ctx, store.Filter{}, func(r *store.Record) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Rule != "operator:clear-outpoint" || recs[0].Action != store.ActionReject ||
		!strings.Contains(recs[0].Reason, "ticket 42") || !strings.Contains(string(recs[0].Request), op) {
		t.Fatalf("records %+v", recs)
	}
	rep, err := st.Verify(ctx)
	if err != nil || rep.Break != nil {
		t.Fatalf("chain after clearing: %+v %v", rep, err)
	}
}
