// Package chain is the decision log's hash chain, shared by the SQLite and
// PostgreSQL stores so that both hash, spell times and verify identically:
// Hash is the exact encoding every recorded chain depends on, Verifier and
// Verify check a chain while streaming it, and the time helpers fix the one
// spelling (UTC, microseconds) an instant has in the chain and the ledger.
//
// It is internal to tssgate/internal/store: only the store implementations
// and the conformance suite may depend on how the chain is computed.
// Everyone else reads the outcome through store.Store.Verify.
package chain

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"tssgate/internal/store"
)

// hashDomain starts every chain hash input. A different record layout must
// get a new tag, so that two layouts can never produce the same input.
const hashDomain = "tssgate/decision-chain/v1"

// TimeLayout is how ReceivedAt enters the chain hash and the text dumps: UTC,
// always six fractional digits, so that one instant has one spelling.
const TimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// Hash returns the chain hash of r: lower-case hex SHA-256 over
//
//	"tssgate/decision-chain/v1"
//	then, for each field in this order, its length as an 8-byte big-endian
//	unsigned integer followed by its bytes:
//	seq, request_id, version, type, node_key, received_at, request,
//	request_hash, tx_key, action, status, rule, reason, shadow,
//	policy_version, latency_micros, prev_hash
//
// Integers are written in decimal ASCII ("42", "-1"); received_at in
// TimeLayout after conversion to UTC and truncation to the microsecond
// ("2024-05-01T12:00:00.000000Z"); request and shadow as their raw bytes (a
// nil shadow is the empty string); every other field as its UTF-8 text.
// Length prefixes make the encoding injective: no shifting of bytes between
// adjacent fields yields the same input. The record's own Hash field is
// not an input.
func Hash(r *store.Record) string {
	h := sha256.New()
	h.Write([]byte(hashDomain))
	var buf [8]byte
	field := func(b []byte) {
		binary.BigEndian.PutUint64(buf[:], uint64(len(b)))
		h.Write(buf[:])
		h.Write(b)
	}
	str := func(s string) { field([]byte(s)) }
	num := func(n int64) { field(strconv.AppendInt(nil, n, 10)) }

	num(r.Seq)
	str(r.RequestID)
	str(r.Version)
	str(r.Type)
	str(r.NodeKey)
	str(FormatTime(r.ReceivedAt))
	field(r.Request)
	str(r.RequestHash)
	str(r.TxKey)
	str(r.Action)
	num(int64(r.Status))
	str(r.Rule)
	str(r.Reason)
	field(r.Shadow)
	str(r.PolicyVersion)
	num(r.LatencyMicros)
	str(r.PrevHash)
	return hex.EncodeToString(h.Sum(nil))
}

// NormalizeTime returns t as the stores keep it: UTC, truncated to the
// microsecond, without a monotonic clock reading.
func NormalizeTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// CeilTime returns t in UTC rounded up to the microsecond: the bound to
// compare stored (microsecond) times with when t is a filter's Since or
// Until, so that "received_at >= Since" and "received_at < Until" mean the
// same with stored times as with t itself.
func CeilTime(t time.Time) time.Time {
	n := NormalizeTime(t)
	if n.Before(t) {
		n = n.Add(time.Microsecond)
	}
	return n
}

// FormatTime spells t in TimeLayout after NormalizeTime.
func FormatTime(t time.Time) string {
	return NormalizeTime(t).Format(TimeLayout)
}

// Verifier checks a hash chain one row at a time, in Seq order, so that
// an implementation can verify a log of any length while streaming it. The
// zero value expects the chain to start at Seq 1.
type Verifier struct {
	rows     int64
	lastSeq  int64
	lastHash string
	brk      *store.Break
}

// Add checks the next row and reports whether the chain is still intact.
// After the first break it ignores further rows and keeps returning false.
func (v *Verifier) Add(r *store.Record) bool {
	if v.brk != nil {
		return false
	}
	v.rows++
	problem := ""
	switch {
	case r.Seq != v.lastSeq+1:
		problem = fmt.Sprintf("seq %d follows seq %d: rows are missing or reordered", r.Seq, v.lastSeq)
	case r.PrevHash != v.lastHash:
		problem = fmt.Sprintf("prev_hash %q is not the hash of the previous row (%q)", r.PrevHash, v.lastHash)
	case r.RequestHash != store.RequestHashOf(r.Request):
		problem = "request_hash does not match the stored request"
	case Hash(r) != r.Hash:
		problem = "hash does not match the row's content"
	}
	if problem != "" {
		v.brk = &store.Break{Seq: r.Seq, RequestID: r.RequestID, Problem: problem}
		return false
	}
	v.lastSeq, v.lastHash = r.Seq, r.Hash
	return true
}

// Report returns the outcome so far.
func (v *Verifier) Report() *store.VerifyReport {
	rep := &store.VerifyReport{Rows: v.rows, Break: v.brk}
	if v.brk == nil {
		rep.Head = v.lastHash
	}
	return rep
}

// errStop ends a walk early without being an error.
var errStop = errors.New("stop")

// Verify checks the chain an implementation walks: walk must call fn
// for every record in Seq order and return fn's error as is. It is the
// whole of Store.Verify once the implementation can stream its rows.
func Verify(walk func(fn func(*store.Record) error) error) (*store.VerifyReport, error) {
	var v Verifier
	err := walk(func(r *store.Record) error {
		if !v.Add(r) {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	return v.Report(), nil
}
