package token

import (
	"errors"
	"testing"
)

// TestAttack9NumericDateWrapsPastInt64 signs (with the configured node key)
// tokens whose nbf or iat lies some 292 billion years ahead, just below the
// 2^63 seconds that numericDate refuses. time.Unix adds the 62,135,596,800
// seconds from year 1 to 1970 to its argument without an overflow check, so
// such a date wraps to the far past, and the "not valid yet" and "issued in
// the future" checks pass: a token that says it is not valid for aeons is
// accepted. exp in the same range wraps too and reads as expired, which
// fails closed; nbf and iat fail open. The expectation is independent of
// the code under test: any date this far ahead is in the future, so Verify
// must refuse the token.
func TestAttack9NumericDateWrapsPastInt64(t *testing.T) {
	v, node := diffVerifier(t)
	tests := []struct {
		name, extra string
	}{
		// Control: far ahead but short of the wrap, refused as it should be.
		{"nbf 9e18 (no wrap)", `,"nbf":9e18`},
		// The largest float64 below 2^63.
		{"nbf largest float below 2^63", `,"nbf":9223372036854774784`},
		{"iat largest float below 2^63", `,"iat":9223372036854774784`},
		// 2^63-1 minus 62,135,596,800 is 9223371974719179007: anything
		// above wraps.
		{"nbf 9.223372e18", `,"nbf":9.223372e18`},
		{"iat 9.223372e18", `,"iat":9.223372e18`},
		{"nbf just past the wrap", `,"nbf":9223371974719180800`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := diffToken(t, diffHeader, diffClaims(tt.extra), node, false)
			got, err := v.Verify(tok)
			if err == nil {
				t.Fatalf("Verify accepted a token with %s (now is %v), key %q", tt.extra[1:], diffNow, got.KeyName)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Verify = %v, want an ErrInvalid", err)
			}
		})
	}
}
