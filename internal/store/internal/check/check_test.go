package check

import (
	"errors"
	"strings"
	"testing"
	"time"

	"tssgate/internal/decimal"
	"tssgate/internal/store"
)

// sampleRecord is a complete, valid record with every field set.
func sampleRecord() store.Record {
	return store.Record{
		Seq:           7,
		RequestID:     "req-1",
		Version:       "v2",
		Type:          "KEYSIGN",
		NodeKey:       "node-a",
		ReceivedAt:    time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC),
		Request:       []byte(`{"request_id":"req-1"}`),
		RequestHash:   store.RequestHashOf([]byte(`{"request_id":"req-1"}`)),
		TxKey:         "tx-1",
		Action:        store.ActionApprove,
		Status:        0,
		Rule:          "allow-small",
		Reason:        "ok",
		Shadow:        []byte(`[]`),
		PolicyVersion: "p1",
		LatencyMicros: 42,
		PrevHash:      strings.Repeat("ab", 32),
	}
}

func TestPrepareNormalizes(t *testing.T) {
	in := sampleRecord()
	in.ReceivedAt = time.Date(2025, 3, 14, 20, 39, 26, 535897999, time.FixedZone("IST", 5*3600+1800))
	in.RequestHash = ""
	in.Shadow = []byte{}
	in.Seq, in.PrevHash, in.Hash = 5, "x", "y"
	got, err := Prepare(in, nil)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	want := time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)
	if !got.ReceivedAt.Equal(want) || got.ReceivedAt.Location() != time.UTC {
		t.Errorf("ReceivedAt = %s, want %s", got.ReceivedAt, want)
	}
	if got.RequestHash != store.RequestHashOf(in.Request) {
		t.Errorf("RequestHash = %q, want the request's SHA-256", got.RequestHash)
	}
	if got.Shadow != nil {
		t.Errorf("Shadow = %q, want nil", got.Shadow)
	}
	if got.Seq != 0 || got.PrevHash != "" || got.Hash != "" {
		t.Errorf("chain fields not cleared: %d %q %q", got.Seq, got.PrevHash, got.Hash)
	}
}

func TestPrepareRejects(t *testing.T) {
	maxAmt := decimal.MustParse("10")
	good := store.LimitUse{Limit: "l", Window: time.Hour, Amount: decimal.MustParse("1"), MaxAmount: &maxAmt}
	tests := []struct {
		name string
		edit func(r *store.Record)
		uses []store.LimitUse
		want string
	}{
		{"empty request_id", func(r *store.Record) { r.RequestID = "" }, nil, "empty request_id"},
		{"action", func(r *store.Record) { r.Action = "WAIT" }, nil, `action "WAIT"`},
		{"status", func(r *store.Record) { r.Status = 10 }, nil, "APPROVE with status 10"},
		{"NUL", func(r *store.Record) { r.Rule = "\x00" }, nil, "rule contains a NUL"},
		{"UTF-8", func(r *store.Record) { r.NodeKey = "\xc3" }, nil, "node_key is not valid UTF-8"},
		{"time", func(r *store.Record) { r.ReceivedAt = time.Time{} }, nil, "zero received_at"},
		{"request", func(r *store.Record) { r.Request = []byte("nope") }, nil, "request is not valid JSON"},
		{"shadow", func(r *store.Record) { r.Shadow = []byte("{") }, nil, "shadow is not valid JSON"},
		{"hash", func(r *store.Record) { r.RequestHash = "00" }, nil, "is not the SHA-256"},
		{"latency", func(r *store.Record) { r.LatencyMicros = -5 }, nil, "negative latency"},
		{"duplicate limit", nil, []store.LimitUse{good, good}, `limit "l" used twice`},
		{"window", nil, []store.LimitUse{{Limit: "l", Window: -time.Second}}, "window -1s is not positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleRecord()
			if tt.edit != nil {
				tt.edit(&r)
			}
			_, err := Prepare(r, tt.uses)
			if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Prepare error = %v, want store.ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}

func TestLimit(t *testing.T) {
	d := decimal.MustParse
	ptr := func(s string) *decimal.Decimal { v := d(s); return &v }
	tests := []struct {
		name   string
		use    store.LimitUse
		amount string
		count  int64
		want   string
	}{
		{"fits", store.LimitUse{Limit: "l", Window: time.Hour, Amount: d("5"), MaxAmount: ptr("10")}, "4", 1, ""},
		{"reaches the cap exactly", store.LimitUse{Limit: "l", Window: time.Hour, Amount: d("5"), MaxAmount: ptr("10")}, "5", 1, ""},
		{"one unit over", store.LimitUse{Limit: "l", Window: 24 * time.Hour, Amount: d("5.000001"), MaxAmount: ptr("10")}, "5", 1,
			`limit "l" exceeded: window 24h, used 5 of 10 (this request 5.000001)`},
		{"count reaches the cap", store.LimitUse{Limit: "c", Window: time.Minute, MaxCount: 3}, "0", 2, ""},
		{"count over", store.LimitUse{Limit: "c", Window: 90 * time.Minute, MaxCount: 3}, "0", 3,
			`limit "c" exceeded: window 1h30m, used 3 of 3 transactions (this request 1)`},
		{"amount is checked before count", store.LimitUse{Limit: "b", Window: time.Hour, Amount: d("2"), MaxAmount: ptr("1"), MaxCount: 1}, "0", 5,
			`limit "b" exceeded: window 1h, used 0 of 1 (this request 2)`},
		{"no caps", store.LimitUse{Limit: "n", Window: time.Hour, Amount: d("1")}, "1000000", 1000000, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Limit(tt.use, d(tt.amount), tt.count); got != tt.want {
				t.Errorf("Limit = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFormatWindow(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{24 * time.Hour, "24h"},
		{90 * time.Minute, "1h30m"},
		{time.Hour + time.Second, "1h0m1s"},
		{5 * time.Minute, "5m"},
		{30 * time.Second, "30s"},
		{1500 * time.Millisecond, "1.5s"},
	} {
		if got := FormatWindow(tt.d); got != tt.want {
			t.Errorf("FormatWindow(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestFilter(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		f    store.Filter
		ok   bool
	}{
		{"zero", store.Filter{}, true},
		{"range", store.Filter{Since: t0, Until: t0.Add(time.Second)}, true},
		{"empty range", store.Filter{Since: t0, Until: t0}, false},
		{"negative limit", store.Filter{Limit: -1}, false},
	} {
		if err := Filter(tt.f); (err == nil) != tt.ok || (err != nil && !errors.Is(err, store.ErrInvalid)) {
			t.Errorf("%s: Filter = %v, want ok = %v", tt.name, err, tt.ok)
		}
	}
}
