package protocol

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"tssgate/internal/decimal"
)

// This file holds the small value types the wire structs are built from.
// Each one is lenient where Cobo is known or suspected to be loose (numbers as
// strings) and strict where a wrong type could change a decision (hashes,
// amounts). On rejection they return a *json.UnmarshalTypeError, because
// encoding/json then fills in the field path, which Decode turns into a
// reason that names the field.

// Int is an integer field (threshold, curve, timestamps, nonces...) that Cobo
// sends as a JSON number but might send as a string of digits. Both are
// accepted; fractions, exponents, empty strings, booleans and values outside
// int64 are rejected rather than rounded or wrapped. JSON null leaves the
// value unchanged (0 in a fresh struct), like encoding/json does for int.
type Int int64

// UnmarshalJSON implements json.Unmarshaler with the rules on Int.
func (i *Int) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	n, ok := parseIntJSON(b)
	if !ok {
		return typeError(b, reflect.TypeFor[Int]())
	}
	*i = Int(n)
	return nil
}

// parseIntJSON reads a JSON number literal or JSON string holding an
// optionally signed run of decimal digits.
func parseIntJSON(b []byte) (int64, bool) {
	text := string(b)
	if strings.HasPrefix(text, `"`) {
		if err := json.Unmarshal(b, &text); err != nil {
			return 0, false
		}
	}
	if !isInteger(text) {
		return 0, false
	}
	n, err := strconv.ParseInt(text, 10, 64)
	return n, err == nil
}

// isInteger reports whether s is an optional '-' followed by one or more
// ASCII digits. strconv.ParseInt alone would also accept a '+' sign and
// underscores in base 0, so the syntax is pinned here.
func isInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// HexString is one entry of msg_hash_list: a non-empty string of hex digits
// of even length, with an optional 0x or 0X prefix. The text is kept exactly
// as received (case and prefix included); comparing it with hashes computed
// from the transaction is the verifier's job, which normalises both sides.
// Anything else, including null, is rejected: a malformed hash list must
// never reach the signer.
type HexString string

// UnmarshalJSON implements json.Unmarshaler with the rules on HexString.
func (h *HexString) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) == 0 || b[0] != '"' || json.Unmarshal(b, &s) != nil || !isHex(s) {
		return typeError(b, reflect.TypeFor[HexString]())
	}
	*h = HexString(s)
	return nil
}

func isHex(s string) bool {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		s = s[2:]
	}
	if s == "" || len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// Amount is a money amount on the wire: a JSON string holding an exact
// decimal ("0.0001", "100000000000000") or a JSON number literal, read from
// its text and never through float64. Exponents are rejected (see
// decimal.Parse).
//
// Set is false when the key is absent, null or the empty string: the
// difference between "no amount" and "0" matters to a money check, so
// normalisation decides per field whether a missing amount is an error (a
// transfer's amount) or zero (a contract call's value). Value is 0 when Set
// is false.
type Amount struct {
	Value decimal.Decimal // the amount; 0 when !Set
	Set   bool            // whether the wire carried a value
}

// UnmarshalJSON implements json.Unmarshaler with the rules on Amount.
func (a *Amount) UnmarshalJSON(b []byte) error {
	text := string(b)
	if text == "null" || text == `""` {
		*a = Amount{}
		return nil
	}
	var d decimal.Decimal
	if err := d.UnmarshalJSON(b); err != nil {
		return typeError(b, reflect.TypeFor[Amount]())
	}
	*a = Amount{Value: d, Set: true}
	return nil
}

// MarshalJSON writes the amount as a decimal string, or null when unset.
func (a Amount) MarshalJSON() ([]byte, error) {
	if !a.Set {
		return []byte("null"), nil
	}
	return a.Value.MarshalJSON()
}

// String returns the decimal text, or "" when the amount is unset.
func (a Amount) String() string {
	if !a.Set {
		return ""
	}
	return a.Value.String()
}

// Curve is the key curve of a KEYGEN or KEYRESHARE: 0 SECP256K1, 2 ED25519
// (PROTOCOL.md 4.1, 4.2). Other values are kept, so that policy can reject
// them by name ("UNKNOWN(1)"), rather than refused at decode time.
type Curve int

// The curves Cobo documents.
const (
	CurveSECP256K1 Curve = 0
	CurveED25519   Curve = 2
)

// String returns "SECP256K1", "ED25519" or "UNKNOWN(<n>)".
func (c Curve) String() string {
	switch c {
	case CurveSECP256K1:
		return "SECP256K1"
	case CurveED25519:
		return "ED25519"
	}
	return "UNKNOWN(" + strconv.Itoa(int(c)) + ")"
}

// UnmarshalJSON accepts what Int accepts and, because Cobo spells curves as
// names elsewhere (PROTOCOL.md 10.9), the names SECP256K1 and ED25519 in any
// case. Values outside the int32 range and other names are rejected.
func (c *Curve) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if n, ok := parseIntJSON(b); ok && n == int64(int32(n)) {
		*c = Curve(n)
		return nil
	}
	var name string
	if json.Unmarshal(b, &name) == nil {
		switch strings.ToUpper(name) {
		case "SECP256K1":
			*c = CurveSECP256K1
			return nil
		case "ED25519":
			*c = CurveED25519
			return nil
		}
	}
	return typeError(b, reflect.TypeFor[Curve]())
}

// typeError describes a rejected JSON value for a field of type t. The value
// is quoted, truncated, so a reason stays short whatever the input.
func typeError(b []byte, t reflect.Type) error {
	return &json.UnmarshalTypeError{Value: describeValue(b), Type: t}
}

func describeValue(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "nothing"
	}
	s = truncate(s, 40)
	switch c := s[0]; {
	case c == '"':
		return "string " + s
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	}
	return "number " + s
}

// describeType says in words what a field of type t accepts, for reasons a
// human reads in a reply or a log.
func describeType(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Int]():
		return "an integer"
	case reflect.TypeFor[HexString]():
		return "a non-empty even-length hex string"
	case reflect.TypeFor[Amount]():
		return "a decimal amount"
	case reflect.TypeFor[Curve]():
		return "a curve (0, 2, SECP256K1 or ED25519)"
	case reflect.TypeFor[V1ToAddressDetails]():
		return "a JSON array of {to_address, amount} (or a string holding one)"
	case reflect.TypeFor[V1ExtraParameters]():
		return "a JSON object (or a string holding one)"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(describeType(t.Elem()), "a "), "an ") + "s"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return describeType(t.Elem())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	}
	return t.String()
}

// reasonFor turns an error from decoding part (e.g. "request_detail") into a
// DecodeError reason that names the offending field.
func reasonFor(part string, err error) string {
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		path := part
		if te.Field != "" {
			path += "." + te.Field
		}
		return fmt.Sprintf("%s: got %s, want %s", path, te.Value, describeType(te.Type))
	}
	return fmt.Sprintf("%s: %v", part, err)
}
