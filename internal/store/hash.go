package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strconv"
	"time"
)

// hashDomain starts every chain hash input. A different record layout must
// get a new tag, so that two layouts can never produce the same input.
const hashDomain = "tssgate/decision-chain/v1"

// TimeLayout is how ReceivedAt enters the chain hash and the text dumps: UTC,
// always six fractional digits, so that one instant has one spelling.
const TimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// ComputeHash returns the chain hash of r: lower-case hex SHA-256 over
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
// adjacent fields yields the same input. Hash itself is not an input.
func ComputeHash(r *Record) string {
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
	return sumHex(h)
}

// RequestHashOf returns the lower-case hex SHA-256 of a request's canonical
// JSON: the value Record.RequestHash must hold.
func RequestHashOf(request []byte) string {
	h := sha256.New()
	h.Write(request)
	return sumHex(h)
}

func sumHex(h hash.Hash) string {
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
