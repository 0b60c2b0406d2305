package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"tssgate/internal/decision"
	"tssgate/internal/protocol"
	"tssgate/internal/store"
)

// TestRebuildDecodesTheSameRequest records a request of every sample type
// and version, every request vector in examples/requests, and requests
// with text and numbers an encoder could change, through the pipeline into
// a real SQLite store; then rebuilds each from its record and requires
// the decoded Request to equal the original's, field by field (Raw aside:
// the rebuilt package_data is another spelling of the same content).
func TestRebuildDecodesTheSameRequest(t *testing.T) {
	t0 := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	var items []item
	add := func(v protocol.Version, typ protocol.RequestType, detail, extra []byte) {
		items = append(items, item{version: v, id: fmt.Sprintf("rb-%d", len(items)), typ: typ, detail: detail, extra: extra,
			nodeKey: "node-a", at: t0.Add(time.Duration(len(items)) * time.Second)})
	}
	for _, v := range []protocol.Version{protocol.V1, protocol.V2} {
		for _, typ := range []protocol.RequestType{protocol.TypePing, protocol.TypeKeyGen, protocol.TypeKeySign, protocol.TypeKeyReshare, protocol.TypeKeyShareSign} {
			d, e := sample(t, v, typ)
			add(v, typ, d, e)
		}
	}
	dir := filepath.Join("..", "..", "examples", "requests")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	vectors := 0
	for _, en := range entries {
		name, ok := strings.CutSuffix(en.Name(), ".extra.json")
		if !ok {
			continue
		}
		extra, err := os.ReadFile(filepath.Join(dir, en.Name()))
		if err != nil {
			t.Fatal(err)
		}
		detail, err := os.ReadFile(filepath.Join(dir, name+".detail.json"))
		if err != nil {
			detail, _ = sample(t, protocol.V2, protocol.TypeKeySign)
		}
		add(protocol.V2, protocol.TypeKeySign, detail, extra)
		vectors++
	}
	if vectors < 10 {
		t.Fatalf("found %d request vectors in %s", vectors, dir)
	}
	d, e := sample(t, protocol.V2, protocol.TypeKeySign)
	add(protocol.V2, protocol.TypeKeySign, d, patched(t, e, map[string]string{
		"note":  `"<b>&amp; caf\u00e9 \u2028 \\\" \ud83d\ude00 \u0007"`,
		"big":   `123456789012345678901234567890.000000000000000000010`,
		"exp":   `1e-7`,
		"neg":   `-0.0`,
		"empty": `{}`,
		"list":  `[null, true, false, [], {"z": 1, "a": "\t"}]`,
	}))

	st := openSQLite(t)
	record(t, st, decision.Default{}, items)

	byID := map[string]item{}
	for _, it := range items {
		byID[it.id] = it
	}
	seen := 0
	err = st.List(context.Background(), store.Filter{}, func(rec *store.Record) error {
		it := byID[rec.RequestID]
		orig, err := protocol.Decode(it.version, []byte(mustJSON(t, protocol.NewCallbackRequest(it.id, it.typ, it.detail, it.extra))))
		if err != nil {
			t.Fatalf("%s: original does not decode: %v", it.id, err)
		}
		orig.Raw = nil
		if _, fast := rebuildCanonical(rec); !fast {
			t.Errorf("%s: the canonical record did not take the fast path", rec.RequestID)
		}
		// The same content spelled another way (members in another
		// order) takes the general path; both must give the original.
		var m map[string]json.RawMessage
		if err := json.Unmarshal(rec.Request, &m); err != nil {
			t.Fatal(err)
		}
		other := *rec
		other.Request = []byte(`{"version":` + string(m["version"]) + `,"request_id":` + string(m["request_id"]) +
			`,"request_type":` + string(m["request_type"]) + `,"node_key":` + string(m["node_key"]) +
			`,"request_detail":` + string(m["request_detail"]) + `,"extra_info":` + string(m["extra_info"]) + `}`)
		if _, fast := rebuildCanonical(&other); fast {
			t.Errorf("%s: a non-canonical spelling took the fast path", rec.RequestID)
		}
		for path, r := range map[string]*store.Record{"fast": rec, "general": &other} {
			v, pd, err := Rebuild(r)
			if err != nil {
				t.Errorf("%s (%s path): %v", rec.RequestID, path, err)
				continue
			}
			got, err := protocol.Decode(v, pd)
			if err != nil {
				t.Errorf("%s (%s path): rebuilt request does not decode: %v\n%s", rec.RequestID, path, err, pd)
				continue
			}
			got.Raw = nil
			if !reflect.DeepEqual(got, orig) {
				t.Errorf("%s (%s %s, %s path): rebuilt request differs:\n got  %+v\n want %+v", it.id, it.version, it.typ, path, got, orig)
			}
		}
		seen++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// PINGs without a request_id are not recorded; these have one.
	if seen != len(items) {
		t.Fatalf("checked %d records, recorded %d requests", seen, len(items))
	}

	// The replayed pipeline also requires the rebuilt request to hash to
	// the recorded request_hash: a replay over all of them must not fail.
	p := loadPolicy(t, "version: 1\ndefault: reject\nrules:\n  - {name: all, when: 'true', action: approve}\n")
	r, err := Run(context.Background(), Config{Store: st, Candidate: p, VerifyTx: verifier})
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if r.Replayed != int64(len(items)) {
		t.Fatalf("replayed %d, want %d", r.Replayed, len(items))
	}
}

func TestRebuildRefusesAForeignRecord(t *testing.T) {
	tests := []struct {
		name, request string
	}{
		{"not JSON", `{`},
		{"another request_id", `{"version":"v2","request_id":"other","request_type":"PING"}`},
		{"unknown type", `{"version":"v2","request_id":"r","request_type":"SWEEP"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Rebuild(&store.Record{Seq: 3, RequestID: "r", Version: "v2", Request: []byte(tc.request)})
			if err == nil || !strings.Contains(err.Error(), "record 3 (r)") {
				t.Fatalf("Rebuild: %v, want an error naming the record", err)
			}
		})
	}
}
