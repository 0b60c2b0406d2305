package chainverify_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tssgate/internal/store"
	"tssgate/internal/store/chainverify"
	"tssgate/internal/store/sqlite"
)

// rows commits n PING decisions to a fresh SQLite store and returns them
// as List streams them.
func rows(t *testing.T, n int) []*store.Record {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		id := fmt.Sprintf("r%d", i)
		if _, _, err := st.Commit(context.Background(), store.Record{RequestID: id, Version: "v2", Type: "PING",
			ReceivedAt: t0.Add(time.Duration(i) * time.Second), Request: []byte(`{"request_id":"` + id + `"}`),
			Action: store.ActionApprove, Rule: "ping", PolicyVersion: "p"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var out []*store.Record
	if err := st.List(context.Background(), store.Filter{}, func(r *store.Record) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerifier(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func([]*store.Record) []*store.Record
		wantSeq int64
		want    string
	}{
		{"intact", func(r []*store.Record) []*store.Record { return r }, 0, ""},
		{"a column changed", func(r []*store.Record) []*store.Record { r[1].Action = store.ActionReject; return r }, 2, "hash does not match"},
		{"a row missing", func(r []*store.Record) []*store.Record { return append(r[:1], r[2:]...) }, 3, "rows are missing"},
		{"a request changed", func(r []*store.Record) []*store.Record { r[2].Request = []byte(`{}`); return r }, 3, "request_hash"},
		{"a link rewritten", func(r []*store.Record) []*store.Record { r[2].PrevHash = r[0].Hash; return r }, 3, "prev_hash"},
		{"not from the start", func(r []*store.Record) []*store.Record { return r[1:] }, 2, "follows seq 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v chainverify.Verifier
			var brk *store.Break
			for _, r := range tc.tamper(rows(t, 4)) {
				if b := v.Add(r); b != nil && brk == nil {
					brk = b
				}
			}
			rep := v.Report()
			switch {
			case tc.wantSeq == 0 && (brk != nil || rep.Break != nil || rep.Head == ""):
				t.Fatalf("intact chain: break %+v, report %+v", brk, rep)
			case tc.wantSeq != 0 && (brk == nil || brk.Seq != tc.wantSeq || !strings.Contains(brk.Problem, tc.want) || rep.Head != ""):
				t.Fatalf("break %+v, report %+v; want seq %d: %q", brk, rep, tc.wantSeq, tc.want)
			}
		})
	}
}
