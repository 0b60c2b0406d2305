// Package check is the validation and limit logic both store
// implementations share, so that SQLite and PostgreSQL accept, refuse and
// limit identically: Prepare turns a Record into the form that is stored or
// refuses it, Filter validates a List filter, and Limit decides one velocity
// limit against the usage already in its window. The in-memory ledger
// replay simulates limits with (internal/store/memledger) applies the same
// rules (Uses, Limit, Window, LedgerTime, Claims), so that a replay decides
// a limit as the stores would.
//
// It is internal to tssgate/internal/store: callers outside the store go
// through store.Store, whose Commit and List apply these rules.
package check

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"tssgate/internal/decimal"
	"tssgate/internal/jsonvalid"
	"tssgate/internal/store"
	"tssgate/internal/store/internal/chain"
)

// Prepare validates rec and uses for Commit and returns the record in the
// form that is stored: ReceivedAt normalized (chain.NormalizeTime), an empty
// Shadow as nil, RequestHash filled in, and Seq, PrevHash and Hash cleared
// for the store to assign. uses are validated only for an APPROVE, the only
// action that consumes them, so that a REJECT can always be recorded.
// Errors wrap store.ErrInvalid.
func Prepare(rec store.Record, uses []store.LimitUse) (store.Record, error) {
	if rec.RequestID == "" {
		return store.Record{}, invalid("empty request_id")
	}
	for _, f := range []struct{ name, value string }{
		{"request_id", rec.RequestID}, {"version", rec.Version}, {"type", rec.Type},
		{"node_key", rec.NodeKey}, {"request_hash", rec.RequestHash}, {"tx_key", rec.TxKey},
		{"action", rec.Action}, {"rule", rec.Rule}, {"reason", rec.Reason},
		{"policy_version", rec.PolicyVersion},
	} {
		if err := checkText(f.name, f.value); err != nil {
			return store.Record{}, err
		}
	}
	switch rec.Action {
	case store.ActionApprove:
		if rec.Status != 0 {
			return store.Record{}, invalid("APPROVE with status %d: only status 0 may approve", rec.Status)
		}
	case store.ActionReject:
	default:
		return store.Record{}, invalid("action %q is neither %s nor %s", rec.Action, store.ActionApprove, store.ActionReject)
	}
	if rec.ReceivedAt.IsZero() {
		return store.Record{}, invalid("zero received_at")
	}
	rec.ReceivedAt = chain.NormalizeTime(rec.ReceivedAt)
	if len(rec.Request) == 0 || !jsonvalid.Valid(rec.Request) {
		return store.Record{}, invalid("request is not valid JSON")
	}
	if len(rec.Shadow) == 0 {
		rec.Shadow = nil
	} else if !jsonvalid.Valid(rec.Shadow) {
		return store.Record{}, invalid("shadow is not valid JSON")
	}
	sum := store.RequestHashOf(rec.Request)
	switch {
	case rec.RequestHash == "":
		rec.RequestHash = sum
	case rec.RequestHash != sum:
		return store.Record{}, invalid("request_hash %q is not the SHA-256 of request (%s)", rec.RequestHash, sum)
	}
	if rec.LatencyMicros < 0 {
		return store.Record{}, invalid("negative latency_micros %d", rec.LatencyMicros)
	}
	rec.Seq, rec.PrevHash, rec.Hash = 0, "", ""
	if rec.Action == store.ActionApprove {
		if err := checkUses(uses); err != nil {
			return store.Record{}, err
		}
	}
	return rec, nil
}

// MaxLimitKeyBytes bounds store.LimitUse.Key. The policy engine records longer
// keys by their SHA-256, well below this.
const MaxLimitKeyBytes = 1024

func checkUses(uses []store.LimitUse) error {
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
	return fmt.Errorf("%w: %s", store.ErrInvalid, fmt.Sprintf(format, args...))
}

// Filter validates f for Store.List; errors wrap store.ErrInvalid.
func Filter(f store.Filter) error {
	if f.Limit < 0 {
		return invalid("negative limit %d", f.Limit)
	}
	if f.AfterSeq < 0 {
		return invalid("negative after_seq %d", f.AfterSeq)
	}
	if f.Seq < 0 {
		return invalid("negative seq %d", f.Seq)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return invalid("since %s is not before until %s", chain.FormatTime(f.Since), chain.FormatTime(f.Until))
	}
	return nil
}

// Limit decides one limit: given the amount and count already used in
// the window (not counting this transaction), it returns "" when the
// transaction fits and the REJECT reason when it does not. The amount cap is
// checked before the count cap. Reaching a cap exactly is allowed; only
// going over it is refused.
func Limit(u store.LimitUse, usedAmount decimal.Decimal, usedCount int64) string {
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

// Uses validates the limit uses of an APPROVE as Prepare does, for a
// ledger that takes uses without a Record (the in-memory ledger of
// internal/store/memledger). Errors wrap store.ErrInvalid.
func Uses(uses []store.LimitUse) error { return checkUses(uses) }
