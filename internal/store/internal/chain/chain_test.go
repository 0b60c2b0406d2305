package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

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

// TestHashEncoding rebuilds the documented encoding independently and
// compares, so that a change to Hash that breaks existing chains
// cannot pass unnoticed.
func TestHashEncoding(t *testing.T) {
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
	if got, want := Hash(&r), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("Hash = %s, want %s", got, want)
	}
}

// TestHashGolden pins the hash of a fixed record: every recorded
// chain depends on this value never changing.
func TestHashGolden(t *testing.T) {
	want, err := os.ReadFile("testdata/sample-record.hash")
	if err != nil {
		t.Fatal(err)
	}
	r := sampleRecord()
	if got := Hash(&r); got != strings.TrimSpace(string(want)) {
		t.Errorf("Hash(sample) = %s, want %s (testdata/sample-record.hash)", got, want)
	}
}

func TestHashCoversEveryField(t *testing.T) {
	base := sampleRecord()
	h0 := Hash(&base)
	edits := []struct {
		name string
		edit func(r *store.Record)
	}{
		{"Seq", func(r *store.Record) { r.Seq++ }},
		{"RequestID", func(r *store.Record) { r.RequestID += "x" }},
		{"Version", func(r *store.Record) { r.Version = "v1" }},
		{"Type", func(r *store.Record) { r.Type = "KEYGEN" }},
		{"NodeKey", func(r *store.Record) { r.NodeKey = "node-b" }},
		{"ReceivedAt", func(r *store.Record) { r.ReceivedAt = r.ReceivedAt.Add(time.Microsecond) }},
		{"Request", func(r *store.Record) { r.Request = []byte(`{"request_id":"req-2"}`) }},
		{"RequestHash", func(r *store.Record) { r.RequestHash = strings.Repeat("0", 64) }},
		{"TxKey", func(r *store.Record) { r.TxKey = "" }},
		{"Action", func(r *store.Record) { r.Action = store.ActionReject }},
		{"Status", func(r *store.Record) { r.Status = 30 }},
		{"Rule", func(r *store.Record) { r.Rule = "other" }},
		{"Reason", func(r *store.Record) { r.Reason = "other" }},
		{"Shadow", func(r *store.Record) { r.Shadow = nil }},
		{"PolicyVersion", func(r *store.Record) { r.PolicyVersion = "p2" }},
		{"LatencyMicros", func(r *store.Record) { r.LatencyMicros++ }},
		{"PrevHash", func(r *store.Record) { r.PrevHash = "" }},
	}
	for _, tt := range edits {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleRecord()
			tt.edit(&r)
			if Hash(&r) == h0 {
				t.Errorf("changing %s does not change the hash", tt.name)
			}
		})
	}
	t.Run("Hash is not an input", func(t *testing.T) {
		r := sampleRecord()
		r.Hash = "anything"
		if Hash(&r) != h0 {
			t.Error("the Hash field changed the hash")
		}
	})
	t.Run("time zone is not an input", func(t *testing.T) {
		r := sampleRecord()
		r.ReceivedAt = r.ReceivedAt.In(time.FixedZone("X", 3600))
		if Hash(&r) != h0 {
			t.Error("the same instant in another zone changed the hash")
		}
	})
}

// FuzzHashBoundaries checks that moving bytes across the boundary of
// two adjacent fields always changes the hash: the length prefixes make the
// encoding injective.
func FuzzHashBoundaries(f *testing.F) {
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
		if Hash(&r1) == Hash(&r2) {
			t.Errorf("split %q|%q and %q|%q hash alike", a, b, joined[:k], joined[k:])
		}
	})
}

// validChain builds n valid consecutive records.
func validChain(n int) []*store.Record {
	var rs []*store.Record
	prev := ""
	for i := 1; i <= n; i++ {
		r := sampleRecord()
		r.Seq, r.PrevHash = int64(i), prev
		r.Hash = Hash(&r)
		prev = r.Hash
		rs = append(rs, &r)
	}
	return rs
}

func TestVerifier(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(rs []*store.Record) []*store.Record
		seq     int64
		problem string
	}{
		{"intact", func(rs []*store.Record) []*store.Record { return rs }, 0, ""},
		{"gap", func(rs []*store.Record) []*store.Record { return append(rs[:1], rs[2:]...) }, 3, "seq 3 follows seq 1"},
		{"starts at 2", func(rs []*store.Record) []*store.Record { return rs[1:] }, 2, "seq 2 follows seq 0"},
		{"swapped", func(rs []*store.Record) []*store.Record { rs[1], rs[2] = rs[2], rs[1]; return rs }, 3, "seq 3 follows seq 1"},
		{"content", func(rs []*store.Record) []*store.Record { rs[2].Reason = "x"; return rs }, 3, "hash does not match"},
		{"request", func(rs []*store.Record) []*store.Record { rs[0].Request = []byte(`{}`); return rs }, 1, "request_hash does not match"},
		{"prev", func(rs []*store.Record) []*store.Record {
			rs[1].PrevHash = strings.Repeat("0", 64)
			rs[1].Hash = Hash(rs[1])
			return rs
		}, 2, "prev_hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v Verifier
			rs := tt.edit(validChain(4))
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
