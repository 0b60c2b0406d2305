// Package text makes untrusted text safe to record, sign and show.
//
// Reasons, rule names and echoed values can carry text a TSS Node request
// chose: an address, a token_id, a request_id, cut by some other package at
// a byte count that may split a character. The decision store refuses text
// that PostgreSQL's text type cannot hold (invalid UTF-8, NUL), and a
// refused record means a decision that was evaluated but is not in the log.
// Clean is the one function that turns any string into text every store
// accepts, so that no source of a reason can make a decision unrecordable.
//
// It imports only the standard library.
package text

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Marker ends a string that Clean shortened.
const Marker = "..."

// Clean returns s as valid UTF-8 free of control characters, at most
// maxBytes long (maxBytes <= 0 means no limit):
//
//   - each byte that is not part of valid UTF-8 becomes \xNN;
//   - each control character (NUL and the rest of C0, DEL, C1), each line or
//     paragraph separator (U+2028, U+2029) and each bidirectional formatting
//     character (which can make an audit line read differently from what it
//     holds) becomes \xNN below U+0080 and \uNNNN from U+0080 on, so an
//     escaped C1 control never reads like an invalid byte;
//   - a result longer than maxBytes is cut after the last whole character or
//     escape that leaves room for Marker, and Marker is appended. An escape
//     is never split, so the result never ends in a partial one.
//
// Everything else, including backslashes and quotes, is kept as is: the
// result is for humans and for the store, not a quoted literal. Clean is
// idempotent: Clean(Clean(s, n), n) == Clean(s, n).
func Clean(s string, maxBytes int) string {
	if maxBytes > 0 && maxBytes < len(Marker) {
		maxBytes = len(Marker)
	}
	if isClean(s) && (maxBytes <= 0 || len(s) <= maxBytes) {
		return s
	}
	var b strings.Builder
	// cut is the longest prefix of b that still leaves room for Marker.
	cut := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var piece string
		switch {
		case r == utf8.RuneError && size <= 1:
			piece = escapeByte(s[i])
		case needsEscape(r):
			piece = escapeRune(r)
		default:
			piece = s[i : i+size]
		}
		i += size
		if maxBytes > 0 && b.Len()+len(piece) > maxBytes {
			return b.String()[:cut] + Marker
		}
		b.WriteString(piece)
		if maxBytes <= 0 || b.Len()+len(Marker) <= maxBytes {
			cut = b.Len()
		}
	}
	return b.String()
}

// isClean reports whether s needs no escaping.
func isClean(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return false
		}
		if c >= utf8.RuneSelf {
			for _, r := range s[i:] {
				if r == utf8.RuneError || needsEscape(r) {
					// RuneError may be a genuine U+FFFD, which is clean, but
					// the slow path tells the two apart.
					return false
				}
			}
			return true
		}
	}
	return true
}

// needsEscape reports whether r, a valid rune, is escaped by Clean.
func needsEscape(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r == '\u2028', r == '\u2029':
		return true
	case r == '\u061c', r == '\u200e', r == '\u200f',
		'\u202a' <= r && r <= '\u202e',
		'\u2066' <= r && r <= '\u2069':
		return true
	}
	return false
}

// escapeByte spells a byte that is not part of valid UTF-8 (always
// 0x80 or above) as \xNN.
func escapeByte(c byte) string {
	return `\x` + string([]byte{hexDigits[c>>4], hexDigits[c&0xf]})
}

// escapeRune spells a rune Clean escapes: \xNN below U+0080, \uNNNN above
// (so a C1 control, U+0080 to U+009F, never reads like an invalid byte).
func escapeRune(r rune) string {
	if r < utf8.RuneSelf {
		return escapeByte(byte(r))
	}
	return `\u` + string([]byte{hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf]})
}

const hexDigits = "0123456789abcdef"

// PrintableASCII reports whether s is non-empty and every byte is a
// printable ASCII character other than space. Identifiers matched as exact
// strings (token_id, chain_id, verify keys) must be so: a look-alike
// letter or an invisible character would be a second spelling of one
// value.
func PrintableASCII(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
