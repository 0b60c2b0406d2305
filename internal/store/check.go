package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"tssgate/internal/decimal"
)

// The functions in this file are the logic both implementations share, so
// that SQLite and PostgreSQL accept, refuse, hash and limit identically.
// Callers outside the store sub-packages have no reason to use them.

// Prepare validates rec and uses for Commit and returns the record in the
// form that is stored: ReceivedAt normalized (NormalizeTime), an empty
// Shadow as nil, RequestHash filled in, and Seq, PrevHash and Hash cleared
// for the store to assign. uses are validated only for an APPROVE, the only
// action that consumes them, so that a REJECT can always be recorded.
// Errors wrap ErrInvalid.
func Prepare(rec Record, uses []LimitUse) (Record, error) {
	if rec.RequestID == "" {
		return Record{}, invalid("empty request_id")
	}
	for _, f := range []struct{ name, value string }{
		{"request_id", rec.RequestID}, {"version", rec.Version}, {"type", rec.Type},
		{"node_key", rec.NodeKey}, {"request_hash", rec.RequestHash}, {"tx_key", rec.TxKey},
		{"action", rec.Action}, {"rule", rec.Rule}, {"reason", rec.Reason},
		{"policy_version", rec.PolicyVersion},
	} {
		if err := checkText(f.name, f.value); err != nil {
			return Record{}, err
		}
	}
	switch rec.Action {
	case ActionApprove:
		if rec.Status != 0 {
			return Record{}, invalid("APPROVE with status %d: only status 0 may approve", rec.Status)
		}
	case ActionReject:
	default:
		return Record{}, invalid("action %q is neither %s nor %s", rec.Action, ActionApprove, ActionReject)
	}
	if rec.ReceivedAt.IsZero() {
		return Record{}, invalid("zero received_at")
	}
	rec.ReceivedAt = NormalizeTime(rec.ReceivedAt)
	if len(rec.Request) == 0 || !json.Valid(rec.Request) {
		return Record{}, invalid("request is not valid JSON")
	}
	if len(rec.Shadow) == 0 {
		rec.Shadow = nil
	} else if !json.Valid(rec.Shadow) {
		return Record{}, invalid("shadow is not valid JSON")
	}
	sum := RequestHashOf(rec.Request)
	switch {
	case rec.RequestHash == "":
		rec.RequestHash = sum
	case rec.RequestHash != sum:
		return Record{}, invalid("request_hash %q is not the SHA-256 of request (%s)", rec.RequestHash, sum)
	}
	if rec.LatencyMicros < 0 {
		return Record{}, invalid("negative latency_micros %d", rec.LatencyMicros)
	}
	rec.Seq, rec.PrevHash, rec.Hash = 0, "", ""
	if rec.Action == ActionApprove {
		if err := checkUses(uses); err != nil {
			return Record{}, err
		}
	}
	return rec, nil
}

// MaxLimitKeyBytes bounds LimitUse.Key. The policy engine records longer
// keys by their SHA-256, well below this.
const MaxLimitKeyBytes = 1024

func checkUses(uses []LimitUse) error {
	seen := make(map[string]bool, len(uses))
	for _, u := range uses {
		if u.Limit == "" {
			return invalid("limit use without a limit name")
		}
		if seen[u.Limit] {
			return invalid("limit %q used twice in one decision", u.Limit)
		}
		seen[u.Limit] = true
		if err := checkText("limit name", u.Limit); err != nil {
			return err
		}
		if err := checkText("limit key", u.Key); err != nil {
			return err
		}
		if len(u.Key) > MaxLimitKeyBytes {
			// PostgreSQL's ledger index refuses entries of a few KB; both
			// stores refuse the same keys, as invalid, not as an outage.
			return invalid("limit %q: key of %d bytes, more than %d", u.Limit, len(u.Key), MaxLimitKeyBytes)
		}
		switch {
		case u.Window <= 0:
			return invalid("limit %q: window %s is not positive", u.Limit, u.Window)
		case u.Amount.Sign() < 0:
			return invalid("limit %q: negative amount %s", u.Limit, u.Amount)
		case u.MaxAmount != nil && u.MaxAmount.Sign() < 0:
			return invalid("limit %q: negative max_amount %s", u.Limit, u.MaxAmount)
		case u.MaxCount < 0:
			return invalid("limit %q: negative max_count %d", u.Limit, u.MaxCount)
		}
		// The ledger keeps amounts as text and reads them back with
		// decimal.Parse; refuse now what could not be read back later.
		if _, err := decimal.Parse(u.Amount.String()); err != nil {
			return invalid("limit %q: amount too long to record: %v", u.Limit, err)
		}
	}
	return nil
}

// checkText refuses what PostgreSQL's text type cannot hold, so that both
// stores accept exactly the same records.
func checkText(name, s string) error {
	if !utf8.ValidString(s) {
		return invalid("%s is not valid UTF-8", name)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return invalid("%s contains a NUL byte", name)
	}
	return nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// CheckFilter validates f for List; errors wrap ErrInvalid.
func CheckFilter(f Filter) error {
	if f.Limit < 0 {
		return invalid("negative limit %d", f.Limit)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return invalid("since %s is not before until %s", FormatTime(f.Since), FormatTime(f.Until))
	}
	return nil
}

// CheckLimit decides one limit: given the amount and count already used in
// the window (not counting this transaction), it returns "" when the
// transaction fits and the REJECT reason when it does not. The amount cap is
// checked before the count cap. Reaching a cap exactly is allowed; only
// going over it is refused.
func CheckLimit(u LimitUse, usedAmount decimal.Decimal, usedCount int64) string {
	if u.MaxAmount != nil && usedAmount.Add(u.Amount).Cmp(*u.MaxAmount) > 0 {
		return fmt.Sprintf("limit %q exceeded: window %s, used %s of %s (this request %s)",
			u.Limit, FormatWindow(u.Window), usedAmount, u.MaxAmount, u.Amount)
	}
	if u.MaxCount > 0 && usedCount+1 > u.MaxCount {
		return fmt.Sprintf("limit %q exceeded: window %s, used %d of %d transactions (this request 1)",
			u.Limit, FormatWindow(u.Window), usedCount, u.MaxCount)
	}
	return ""
}

// FormatWindow spells a window as a policy author wrote it: "24h" rather
// than time.Duration's "24h0m0s", "1h30m" rather than "1h30m0s".
func FormatWindow(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// ChainVerifier checks a hash chain one row at a time, in Seq order, so that
// an implementation can verify a log of any length while streaming it. The
// zero value expects the chain to start at Seq 1.
type ChainVerifier struct {
	rows     int64
	lastSeq  int64
	lastHash string
	brk      *Break
}

// Add checks the next row and reports whether the chain is still intact.
// After the first break it ignores further rows and keeps returning false.
func (v *ChainVerifier) Add(r *Record) bool {
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
	case r.RequestHash != RequestHashOf(r.Request):
		problem = "request_hash does not match the stored request"
	case ComputeHash(r) != r.Hash:
		problem = "hash does not match the row's content"
	}
	if problem != "" {
		v.brk = &Break{Seq: r.Seq, RequestID: r.RequestID, Problem: problem}
		return false
	}
	v.lastSeq, v.lastHash = r.Seq, r.Hash
	return true
}

// Report returns the outcome so far.
func (v *ChainVerifier) Report() *VerifyReport {
	rep := &VerifyReport{Rows: v.rows, Break: v.brk}
	if v.brk == nil {
		rep.Head = v.lastHash
	}
	return rep
}

// errStop ends a walk early without being an error.
var errStop = errors.New("stop")

// VerifyChain checks the chain an implementation walks: walk must call fn
// for every record in Seq order and return fn's error as is. It is the
// whole of Store.Verify once the implementation can stream its rows.
func VerifyChain(walk func(fn func(*Record) error) error) (*VerifyReport, error) {
	var v ChainVerifier
	err := walk(func(r *Record) error {
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
