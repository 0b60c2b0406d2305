// Package decimal implements exact base-10 numbers for money.
//
// Amounts in the Cobo callback protocol are decimal strings (v2, in token
// units such as "0.0001") or integers in the smallest unit (v1, such as wei).
// A float64 cannot hold either exactly, and a rounding error in a limit check
// is a security bug, so every amount in tssgate is a Decimal: an arbitrary
// precision integer coefficient with a base-10 scale.
//
// The package owns parsing, formatting, JSON encoding, addition, comparison
// and conversion to and from smallest-unit integers. It assumes its inputs
// are bounded: Parse rejects inputs with more than MaxDigits digits, and
// constructors reject scales beyond MaxScale, so no attacker-controlled value
// can make an operation allocate without bound.
package decimal

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// MaxDigits bounds the number of digits Parse accepts. Real amounts have a
// few dozen digits at most (a uint256 has 78); the bound keeps the cost of
// parsing and arithmetic on hostile input small and predictable.
const MaxDigits = 100

// MaxScale bounds the scale (the power of ten) a Decimal may carry, in either
// direction. Aligning two decimals multiplies by up to 10^(2*MaxScale), which
// stays cheap; an unbounded scale taken from input would not.
const MaxScale = 1000

// ErrSyntax is wrapped by every error Parse and UnmarshalJSON return for input
// that is not an acceptable decimal.
var ErrSyntax = errors.New("decimal: invalid syntax")

// Decimal is an exact base-10 number: coef × 10^-scale.
//
// The zero value is 0. A Decimal is an immutable value: no method modifies
// its receiver, and no result shares big.Int storage with an operand or with
// a big.Int passed in or returned, so Decimals may be copied and shared
// between goroutines freely. Compare Decimals with Cmp, never with ==, which
// compares representations (1.5 and 1.50 differ) and pointers.
type Decimal struct {
	coef  *big.Int // nil means 0; never mutated after construction
	scale int32
}

var bigTen = big.NewInt(10)

// pow10 returns a fresh 10^n for 0 <= n.
func pow10(n int64) *big.Int {
	return new(big.Int).Exp(bigTen, big.NewInt(n), nil)
}

func checkScale(scale int32, what string) {
	if scale > MaxScale || scale < -MaxScale {
		panic(fmt.Sprintf("decimal: %s %d out of range [-%d, %d]", what, scale, MaxScale, MaxScale))
	}
}

// New returns coef × 10^-scale. It copies coef, so the caller may keep
// modifying its big.Int. A nil coef means 0.
//
// New panics if scale is outside [-MaxScale, MaxScale]: scales come from
// code, and callers that take one from input must bound it first.
func New(coef *big.Int, scale int32) Decimal {
	checkScale(scale, "scale")
	if coef == nil || coef.Sign() == 0 {
		return Decimal{scale: scale}
	}
	return Decimal{coef: new(big.Int).Set(coef), scale: scale}
}

// FromBaseUnits returns units × 10^-decimals: the token amount for an integer
// count of the chain's smallest unit (wei with decimals 18, satoshi with 8).
// It copies units. It panics, like New, if decimals is outside
// [-MaxScale, MaxScale]; decode layers validate decimals from input first.
func FromBaseUnits(units *big.Int, decimals int32) Decimal {
	checkScale(decimals, "decimals")
	return New(units, decimals)
}

// MustParse is Parse for constants in code and tests; it panics on error.
func MustParse(s string) Decimal {
	d, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return d
}

// Parse reads a plain decimal number.
//
// Accepted: an optional sign ('+' or '-'), one or more digits, and optionally
// a '.' followed by one or more digits: "0", "-1.50", "+2", "007.10".
// Rejected, with an error wrapping ErrSyntax: the empty string, surrounding
// or inner spaces, a leading or trailing dot (".5", "5."), exponents ("1e-3"),
// NaN and infinities, hex, underscores, more than one dot or sign, and more
// than MaxDigits digits. Exponents are refused because no Cobo amount uses
// them and "1e999999" would be a cheap way to request a huge allocation.
func Parse(s string) (Decimal, error) {
	if len(s) > MaxDigits+2 { // sign and dot are the only non-digits allowed
		return Decimal{}, syntaxError(s, "too long")
	}
	body := s
	neg := false
	if body != "" && (body[0] == '+' || body[0] == '-') {
		neg = body[0] == '-'
		body = body[1:]
	}
	intPart, fracPart, hasDot := strings.Cut(body, ".")
	switch {
	case intPart == "":
		return Decimal{}, syntaxError(s, "missing integer digits")
	case hasDot && fracPart == "":
		return Decimal{}, syntaxError(s, "missing fractional digits")
	case !allDigits(intPart) || !allDigits(fracPart):
		return Decimal{}, syntaxError(s, "unexpected character")
	case len(intPart)+len(fracPart) > MaxDigits:
		return Decimal{}, syntaxError(s, "too many digits")
	}
	coef, ok := new(big.Int).SetString(intPart+fracPart, 10)
	if !ok { // unreachable after the checks above; fail closed anyway
		return Decimal{}, syntaxError(s, "unexpected character")
	}
	if neg {
		coef.Neg(coef)
	}
	if coef.Sign() == 0 {
		coef = nil
	}
	return Decimal{coef: coef, scale: int32(len(fracPart))}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// syntaxError quotes the input, truncated so that a huge hostile value does
// not end up verbatim in logs and replies.
func syntaxError(s, why string) error {
	const limit = 40
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return fmt.Errorf("%w: %s: %q", ErrSyntax, why, s)
}

// int returns the coefficient, or a fresh zero for the zero value. Callers
// must not modify the result.
func (d Decimal) int() *big.Int {
	if d.coef == nil {
		return new(big.Int)
	}
	return d.coef
}

// rescaled returns a fresh coefficient of d expressed at scale s >= d.scale.
func (d Decimal) rescaled(s int32) *big.Int {
	c := new(big.Int).Set(d.int())
	if s > d.scale {
		c.Mul(c, pow10(int64(s)-int64(d.scale)))
	}
	return c
}

// align returns the coefficients of d and e at their common (larger) scale.
func align(d, e Decimal) (a, b *big.Int, scale int32) {
	scale = max(d.scale, e.scale)
	return d.rescaled(scale), e.rescaled(scale), scale
}

// Add returns d + e, exactly. The result's scale is the larger of the two.
func (d Decimal) Add(e Decimal) Decimal {
	a, b, s := align(d, e)
	return fromOwned(a.Add(a, b), s)
}

// Sub returns d - e, exactly.
func (d Decimal) Sub(e Decimal) Decimal {
	a, b, s := align(d, e)
	return fromOwned(a.Sub(a, b), s)
}

// fromOwned wraps a big.Int the caller will not touch again.
func fromOwned(c *big.Int, scale int32) Decimal {
	if c.Sign() == 0 {
		c = nil
	}
	return Decimal{coef: c, scale: scale}
}

// Cmp compares numerically: -1 if d < e, 0 if d == e, +1 if d > e.
// Representation does not matter: 1.50 equals 1.5.
func (d Decimal) Cmp(e Decimal) int {
	if ds, es := d.Sign(), e.Sign(); ds != es {
		return cmpInt(ds, es)
	}
	if d.scale == e.scale {
		return d.int().Cmp(e.int())
	}
	a, b, _ := align(d, e)
	return a.Cmp(b)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Sign returns -1, 0 or +1 for negative, zero or positive d.
func (d Decimal) Sign() int { return d.int().Sign() }

// IsZero reports whether d == 0, whatever its scale.
func (d Decimal) IsZero() bool { return d.Sign() == 0 }

// String formats d in plain notation: no exponent, no '+', trailing
// fractional zeros and a trailing dot trimmed. Examples: "1.5", "100",
// "-0.001", "0". Parse(d.String()) is numerically equal to d.
func (d Decimal) String() string {
	c := d.int()
	if c.Sign() == 0 {
		return "0"
	}
	digits := new(big.Int).Abs(c).String()
	sign := ""
	if c.Sign() < 0 {
		sign = "-"
	}
	if d.scale <= 0 {
		return sign + digits + strings.Repeat("0", int(-d.scale))
	}
	s := int(d.scale)
	if len(digits) <= s {
		digits = strings.Repeat("0", s-len(digits)+1) + digits
	}
	intPart, frac := digits[:len(digits)-s], strings.TrimRight(digits[len(digits)-s:], "0")
	if frac == "" {
		return sign + intPart
	}
	return sign + intPart + "." + frac
}

// MarshalJSON encodes d as a JSON string such as "1.5". A string, not a
// number, because many JSON consumers parse numbers into float64.
func (d Decimal) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(d.String())), nil
}

// UnmarshalJSON accepts a JSON string holding a decimal ("1.5") or a JSON
// number literal (1.5), read exactly from its text and never through float64.
// Both forms follow Parse, so exponents are rejected. JSON null is rejected
// too: for money, "no value" must not silently become 0; use a *Decimal field
// for optional amounts (encoding/json sets it to nil without calling this).
// Every error wraps ErrSyntax.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	text := string(b)
	switch text {
	case "":
		return syntaxError(text, "empty JSON value")
	case "null":
		return syntaxError(text, "null is not an amount")
	}
	if text[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return syntaxError(text, "invalid JSON string")
		}
		text = s
	} else if text[0] != '-' && (text[0] < '0' || text[0] > '9') {
		return syntaxError(text, "not a JSON string or number")
	}
	v, err := Parse(text)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// BaseUnits returns d × 10^decimals as an integer: the smallest-unit count
// for a token amount. ok is false, and the integer nil, when d has non-zero
// digits beyond decimals places (1.0000001 ETH is not a whole number of wei
// if decimals were 6) or when decimals is outside [-MaxScale, MaxScale].
// The result is a fresh big.Int the caller owns.
func (d Decimal) BaseUnits(decimals int32) (*big.Int, bool) {
	if decimals > MaxScale || decimals < -MaxScale {
		return nil, false
	}
	c := new(big.Int).Set(d.int())
	shift := int64(decimals) - int64(d.scale)
	if shift >= 0 {
		return c.Mul(c, pow10(shift)), true
	}
	q, r := new(big.Int).QuoRem(c, pow10(-shift), new(big.Int))
	if r.Sign() != 0 {
		return nil, false
	}
	return q, true
}
