package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"tssgate/internal/decimal"
)

func sampleRecord() Record {
	return Record{
		Seq:           7,
		RequestID:     "req-1",
		Version:       "v2",
		Type:          "KEYSIGN",
		NodeKey:       "node-a",
		ReceivedAt:    time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC),
		Request:       []byte(`{"request_id":"req-1"}`),
		RequestHash:   RequestHashOf([]byte(`{"request_id":"req-1"}`)),
		TxKey:         "tx-1",
		Action:        ActionApprove,
		Status:        0,
		Rule:          "allow-small",
		Reason:        "ok",
		Shadow:        []byte(`[]`),
		PolicyVersion: "p1",
		LatencyMicros: 42,
		PrevHash:      strings.Repeat("ab", 32),
	}
}

// TestComputeHashEncoding rebuilds the documented encoding independently and
// compares, so that a change to ComputeHash that breaks existing chains
// cannot pass unnoticed.
func TestComputeHashEncoding(t *testing.T) {
	r := sampleRecord()
	var in bytes.Buffer
	in.WriteString("tssgate/decision-chain/v1")
	for _, f := range []string{
		"7", "req-1", "v2", "KEYSIGN", "node-a", "2025-03-14T15:09:26.535897Z", `{"request_id":"req-1"}`,
		r.RequestHash, "tx-1", "APPROVE", "0", "allow-small", "ok", "[]", "p1", "42", r.PrevHash,
	} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		in.Write(n[:])
		in.WriteString(f)
	}
	sum := sha256.Sum256(in.Bytes())
	if got, want := ComputeHash(&r), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("ComputeHash = %s, want %s", got, want)
	}
}

// TestComputeHashGolden pins the hash of a fixed record: every recorded
// chain depends on this value never changing.
func TestComputeHashGolden(t *testing.T) {
	want, err := os.ReadFile("testdata/sample-record.hash")
	if err != nil {
		t.Fatal(err)
	}
	r := sampleRecord()
	if got := ComputeHash(&r); got != strings.TrimSpace(string(want)) {
		t.Errorf("ComputeHash(sample) = %s, want %s (testdata/sample-record.hash)", got, want)
	}
}

func TestComputeHashCoversEveryField(t *testing.T) {
	base := sampleRecord()
	h0 := ComputeHash(&base)
	edits := []struct {
		name string
		edit func(r *Record)
	}{
		{"Seq", func(r *Record) { r.Seq++ }},
		{"RequestID", func(r *Record) { r.RequestID += "x" }},
		{"Version", func(r *Record) { r.Version = "v1" }},
		{"Type", func(r *Record) { r.Type = "KEYGEN" }},
		{"NodeKey", func(r *Record) { r.NodeKey = "node-b" }},
		{"ReceivedAt", func(r *Record) { r.ReceivedAt = r.ReceivedAt.Add(time.Microsecond) }},
		{"Request", func(r *Record) { r.Request = []byte(`{"request_id":"req-2"}`) }},
		{"RequestHash", func(r *Record) { r.RequestHash = strings.Repeat("0", 64) }},
		{"TxKey", func(r *Record) { r.TxKey = "" }},
		{"Action", func(r *Record) { r.Action = ActionReject }},
		{"Status", func(r *Record) { r.Status = 30 }},
		{"Rule", func(r *Record) { r.Rule = "other" }},
		{"Reason", func(r *Record) { r.Reason = "other" }},
		{"Shadow", func(r *Record) { r.Shadow = nil }},
		{"PolicyVersion", func(r *Record) { r.PolicyVersion = "p2" }},
		{"LatencyMicros", func(r *Record) { r.LatencyMicros++ }},
		{"PrevHash", func(r *Record) { r.PrevHash = "" }},
	}
	for _, tt := range edits {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleRecord()
			tt.edit(&r)
			if ComputeHash(&r) == h0 {
				t.Errorf("changing %s does not change the hash", tt.name)
			}
		})
	}
	t.Run("Hash is not an input", func(t *testing.T) {
		r := sampleRecord()
		r.Hash = "anything"
		if ComputeHash(&r) != h0 {
			t.Error("the Hash field changed the hash")
		}
	})
	t.Run("time zone is not an input", func(t *testing.T) {
		r := sampleRecord()
		r.ReceivedAt = r.ReceivedAt.In(time.FixedZone("X", 3600))
		if ComputeHash(&r) != h0 {
			t.Error("the same instant in another zone changed the hash")
		}
	})
}

// FuzzComputeHashBoundaries checks that moving bytes across the boundary of
// two adjacent fields always changes the hash: the length prefixes make the
// encoding injective.
func FuzzComputeHashBoundaries(f *testing.F) {
	f.Add("req-1", "v2", 0)
	f.Add("ab", "c", 1)
	f.Add("", "KEYSIGN", 3)
	f.Fuzz(func(t *testing.T, a, b string, k int) {
		joined := a + b
		if k < 0 {
			k = -k
		}
		k %= len(joined) + 1
		if k == len(a) {
			return // the same split
		}
		r1, r2 := sampleRecord(), sampleRecord()
		r1.RequestID, r1.Version = a, b
		r2.RequestID, r2.Version = joined[:k], joined[k:]
		if ComputeHash(&r1) == ComputeHash(&r2) {
			t.Errorf("split %q|%q and %q|%q hash alike", a, b, joined[:k], joined[k:])
		}
	})
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
	if got.RequestHash != RequestHashOf(in.Request) {
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
	good := LimitUse{Limit: "l", Window: time.Hour, Amount: decimal.MustParse("1"), MaxAmount: &maxAmt}
	tests := []struct {
		name string
		edit func(r *Record)
		uses []LimitUse
		want string
	}{
		{"empty request_id", func(r *Record) { r.RequestID = "" }, nil, "empty request_id"},
		{"action", func(r *Record) { r.Action = "WAIT" }, nil, `action "WAIT"`},
		{"status", func(r *Record) { r.Status = 10 }, nil, "APPROVE with status 10"},
		{"NUL", func(r *Record) { r.Rule = "\x00" }, nil, "rule contains a NUL"},
		{"UTF-8", func(r *Record) { r.NodeKey = "\xc3" }, nil, "node_key is not valid UTF-8"},
		{"time", func(r *Record) { r.ReceivedAt = time.Time{} }, nil, "zero received_at"},
		{"request", func(r *Record) { r.Request = []byte("nope") }, nil, "request is not valid JSON"},
		{"shadow", func(r *Record) { r.Shadow = []byte("{") }, nil, "shadow is not valid JSON"},
		{"hash", func(r *Record) { r.RequestHash = "00" }, nil, "is not the SHA-256"},
		{"latency", func(r *Record) { r.LatencyMicros = -5 }, nil, "negative latency"},
		{"duplicate limit", nil, []LimitUse{good, good}, `limit "l" used twice`},
		{"window", nil, []LimitUse{{Limit: "l", Window: -time.Second}}, "window -1s is not positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleRecord()
			if tt.edit != nil {
				tt.edit(&r)
			}
			_, err := Prepare(r, tt.uses)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Prepare error = %v, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}

func TestCheckLimit(t *testing.T) {
	d := decimal.MustParse
	ptr := func(s string) *decimal.Decimal { v := d(s); return &v }
	tests := []struct {
		name   string
		use    LimitUse
		amount string
		count  int64
		want   string
	}{
		{"fits", LimitUse{Limit: "l", Window: time.Hour, Amount: d("5"), MaxAmount: ptr("10")}, "4", 1, ""},
		{"reaches the cap exactly", LimitUse{Limit: "l", Window: time.Hour, Amount: d("5"), MaxAmount: ptr("10")}, "5", 1, ""},
		{"one unit over", LimitUse{Limit: "l", Window: 24 * time.Hour, Amount: d("5.000001"), MaxAmount: ptr("10")}, "5", 1,
			`limit "l" exceeded: window 24h, used 5 of 10 (this request 5.000001)`},
		{"count reaches the cap", LimitUse{Limit: "c", Window: time.Minute, MaxCount: 3}, "0", 2, ""},
		{"count over", LimitUse{Limit: "c", Window: 90 * time.Minute, MaxCount: 3}, "0", 3,
			`limit "c" exceeded: window 1h30m, used 3 of 3 transactions (this request 1)`},
		{"amount is checked before count", LimitUse{Limit: "b", Window: time.Hour, Amount: d("2"), MaxAmount: ptr("1"), MaxCount: 1}, "0", 5,
			`limit "b" exceeded: window 1h, used 0 of 1 (this request 2)`},
		{"no caps", LimitUse{Limit: "n", Window: time.Hour, Amount: d("1")}, "1000000", 1000000, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckLimit(tt.use, d(tt.amount), tt.count); got != tt.want {
				t.Errorf("CheckLimit = %q, want %q", got, tt.want)
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

// chain builds n valid consecutive records.
func chain(n int) []*Record {
	var rs []*Record
	prev := ""
	for i := 1; i <= n; i++ {
		r := sampleRecord()
		r.Seq, r.PrevHash = int64(i), prev
		r.Hash = ComputeHash(&r)
		prev = r.Hash
		rs = append(rs, &r)
	}
	return rs
}

func TestChainVerifier(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(rs []*Record) []*Record
		seq     int64
		problem string
	}{
		{"intact", func(rs []*Record) []*Record { return rs }, 0, ""},
		{"gap", func(rs []*Record) []*Record { return append(rs[:1], rs[2:]...) }, 3, "seq 3 follows seq 1"},
		{"starts at 2", func(rs []*Record) []*Record { return rs[1:] }, 2, "seq 2 follows seq 0"},
		{"swapped", func(rs []*Record) []*Record { rs[1], rs[2] = rs[2], rs[1]; return rs }, 3, "seq 3 follows seq 1"},
		{"content", func(rs []*Record) []*Record { rs[2].Reason = "x"; return rs }, 3, "hash does not match"},
		{"request", func(rs []*Record) []*Record { rs[0].Request = []byte(`{}`); return rs }, 1, "request_hash does not match"},
		{"prev", func(rs []*Record) []*Record {
			rs[1].PrevHash = strings.Repeat("0", 64)
			rs[1].Hash = ComputeHash(rs[1])
			return rs
		}, 2, "prev_hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v ChainVerifier
			rs := tt.edit(chain(4))
			for _, r := range rs {
				v.Add(r)
			}
			rep := v.Report()
			if tt.problem == "" {
				if rep.Break != nil || rep.Rows != 4 || rep.Head != rs[3].Hash {
					t.Errorf("intact chain: %+v, break %+v", rep, rep.Break)
				}
				return
			}
			if rep.Break == nil || rep.Break.Seq != tt.seq || !strings.Contains(rep.Break.Problem, tt.problem) {
				t.Fatalf("Break = %+v, want seq %d containing %q", rep.Break, tt.seq, tt.problem)
			}
			if rep.Head != "" {
				t.Errorf("Head = %q on a broken chain", rep.Head)
			}
		})
	}
}

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name    string
		fs      fstest.MapFS
		want    []int
		wantErr string
	}{
		{"ordered by number, not name", fstest.MapFS{"0002_b.sql": file("B"), "10_c.sql": file("C"), "0001_a.sql": file("A"),
			"3_x.sql": file("X"), "4_x.sql": file("X"), "5_x.sql": file("X"), "6_x.sql": file("X"), "7_x.sql": file("X"),
			"8_x.sql": file("X"), "9_x.sql": file("X")}, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, ""},
		{"non-sql files ignored", fstest.MapFS{"0001_a.sql": file("A"), "README": file("x")}, []int{1}, ""},
		{"gap", fstest.MapFS{"0001_a.sql": file("A"), "0003_c.sql": file("C")}, nil, "expected version 2"},
		{"duplicate", fstest.MapFS{"0001_a.sql": file("A"), "0001_b.sql": file("B")}, nil, "expected version 2"},
		{"bad name", fstest.MapFS{"init.sql": file("A")}, nil, "must start with a positive number"},
		{"zero", fstest.MapFS{"0000_a.sql": file("A")}, nil, "must start with a positive number"},
		{"empty", fstest.MapFS{}, nil, "no migrations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := LoadMigrations(tt.fs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("versions %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("versions %v, want %v", got, tt.want)
				}
			}
			if ms[0].SQL != "A" {
				t.Errorf("first migration SQL = %q, want A", ms[0].SQL)
			}
		})
	}
}

func TestCheckSchemaVersion(t *testing.T) {
	known := []Migration{{Version: 1}, {Version: 2}}
	for _, tt := range []struct {
		db      int
		tooNew  bool
		comment string
	}{
		{0, false, "fresh database"},
		{1, false, "behind: migrate"},
		{2, false, "current"},
		{3, true, "newer binary wrote it"},
	} {
		err := CheckSchemaVersion(tt.db, known)
		if got := errors.Is(err, ErrSchemaTooNew); got != tt.tooNew {
			t.Errorf("%s: CheckSchemaVersion(%d) = %v, want too new = %v", tt.comment, tt.db, err, tt.tooNew)
		}
	}
}

func TestCheckFilter(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		f    Filter
		ok   bool
	}{
		{"zero", Filter{}, true},
		{"range", Filter{Since: t0, Until: t0.Add(time.Second)}, true},
		{"empty range", Filter{Since: t0, Until: t0}, false},
		{"negative limit", Filter{Limit: -1}, false},
	} {
		if err := CheckFilter(tt.f); (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("%s: CheckFilter = %v, want ok = %v", tt.name, err, tt.ok)
		}
	}
}

func TestCeilTime(t *testing.T) {
	zone := time.FixedZone("X", 3600)
	for _, tt := range []struct {
		in, want time.Time
	}{
		{time.Date(2025, 1, 1, 1, 0, 0, 1000, zone), time.Date(2025, 1, 1, 0, 0, 0, 1000, time.UTC)},
		{time.Date(2025, 1, 1, 1, 0, 0, 1001, zone), time.Date(2025, 1, 1, 0, 0, 0, 2000, time.UTC)},
		{time.Date(2025, 1, 1, 1, 0, 0, 999, zone), time.Date(2025, 1, 1, 0, 0, 0, 1000, time.UTC)},
	} {
		if got := CeilTime(tt.in); !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("CeilTime(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
