package check

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"tssgate/internal/decimal"
	"tssgate/internal/store"
)

// MaxTotalDigits bounds the digits of a running total the ledger reads back
// (ParseTotal). One amount has at most decimal.MaxDigits digits, so a total
// of any number of them at any mix of scales has at most about
// 2*decimal.MaxDigits+19 digits; the bound is far above that and still
// keeps a corrupt row from making the check allocate without limit.
const MaxTotalDigits = 1000

// Total is a running total of one (limit, key) up to and including one
// ledger row: the sum of the amounts and the number of rows. Both stores
// keep one on every ledger row, so that a window's usage is the difference
// of two totals (Window) instead of a scan of the window.
type Total struct {
	Amount decimal.Decimal
	Count  int64
}

// ParseTotal reads a running total's amount as the stores write it
// (decimal.Decimal.String on SQLite, NUMERIC text on PostgreSQL): digits,
// optionally a dot and digits, at most MaxTotalDigits in all. Unlike
// decimal.Parse it accepts more than decimal.MaxDigits digits, because a
// total of many 100-digit amounts has more; it refuses a sign, because a
// total is never negative. An error means a corrupt ledger, and the caller
// fails closed (the decision is not approved).
func ParseTotal(s string) (decimal.Decimal, error) {
	intPart, frac, hasDot := strings.Cut(s, ".")
	switch {
	case intPart == "" || (hasDot && frac == ""):
		return decimal.Decimal{}, fmt.Errorf("running total %s: not a plain decimal", quoteShort(s))
	case len(intPart)+len(frac) > MaxTotalDigits:
		return decimal.Decimal{}, fmt.Errorf("running total of %d digits: more than %d", len(intPart)+len(frac), MaxTotalDigits)
	case len(frac) > decimal.MaxScale:
		return decimal.Decimal{}, fmt.Errorf("running total with %d fractional digits: more than %d", len(frac), decimal.MaxScale)
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return decimal.Decimal{}, fmt.Errorf("running total %s: not a plain decimal", quoteShort(s))
			}
		}
	}
	coef, ok := new(big.Int).SetString(intPart+frac, 10)
	if !ok { // unreachable after the checks above; fail closed anyway
		return decimal.Decimal{}, fmt.Errorf("running total %s: not a plain decimal", quoteShort(s))
	}
	return decimal.New(coef, int32(len(frac))), nil
}

// FormatTotal spells a running total's amount for the ledger, refusing one
// that ParseTotal could not read back: a total is only written if the next
// check can use it.
func FormatTotal(d decimal.Decimal) (string, error) {
	s := d.String()
	if _, err := ParseTotal(s); err != nil {
		return "", err
	}
	return s, nil
}

func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// Window returns a window's usage from two running totals of one
// (limit, key): newest, at the key's newest ledger row, and before, at the
// last row at or before the window's start (the zero Total when there is
// none). That is exact because a key's ledger times never decrease in the
// order the totals accumulate (LedgerTime), so the rows outside the window
// are a prefix of that order. A usage below zero can only come from a
// corrupt ledger, and is an error.
func Window(newest, before Total) (decimal.Decimal, int64, error) {
	amount, count := newest.Amount.Sub(before.Amount), newest.Count-before.Count
	if amount.Sign() < 0 || count < 0 {
		return decimal.Decimal{}, 0, fmt.Errorf("corrupt ledger: running totals decrease (%s, %d before the window; %s, %d at the newest row)",
			before.Amount, before.Count, newest.Amount, newest.Count)
	}
	return amount, count, nil
}

// Next returns the running total of a new ledger row for u after newest.
func Next(newest Total, u store.LimitUse) Total {
	return Total{Amount: newest.Amount.Add(u.Amount), Count: newest.Count + 1}
}

// LedgerTime is the time a new ledger row of a (limit, key) is recorded at:
// the decision's received time, or the key's newest ledger time if that is
// later (a replica with a clock behind another's, a request that took long
// to decide). Keeping a key's times non-decreasing in insertion order is
// what makes Window exact. Moving an entry later only keeps it in every
// window at least as long as its own time would, so the limit counts it
// longer, never shorter: it fails closed.
func LedgerTime(receivedAt, newest time.Time) time.Time {
	if newest.After(receivedAt) {
		return newest
	}
	return receivedAt
}

// Entry is one ledger row a Commit is about to write for an approved
// decision: the limit use, the row's time (LedgerTime) and its running
// total (Next).
type Entry struct {
	Use   store.LimitUse
	At    time.Time
	Total Total
}
